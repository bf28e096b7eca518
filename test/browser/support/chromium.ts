/**
 * The system Chromium, driven by playwright-core. Browsers are never downloaded: install the
 * distribution package (`apt-get install -y chromium`) or point CHROMIUM_PATH at a binary.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'
export const INSTALL_COMMAND = 'apt-get install -y chromium'

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

const available = existsSync(CHROMIUM_PATH)
const onCi = process.env['CI'] === 'true'

/** Why Chromium cannot run, or `undefined` when it can. */
export const chromiumMissing: string | undefined = available
  ? undefined
  : `Chromium was not found at ${CHROMIUM_PATH}. Install it with \`${INSTALL_COMMAND}\` ` +
    '(or set CHROMIUM_PATH to a Chromium binary) to run the browser tests.'

/**
 * Whether the browser suites skip: only when Chromium is missing outside CI. On CI
 * (`CI=true`) a missing Chromium fails the suites instead (see {@link assertChromium}).
 */
export const skipBrowserSuites = !available && !onCi

if (skipBrowserSuites) {
  const bar = '!'.repeat(100)
  console.warn(`\n${bar}\n!! SKIPPING THE BROWSER TESTS. ${chromiumMissing}\n${bar}\n`)
}

/** Throws the install instructions when Chromium is missing (the CI case). */
export function assertChromium(): void {
  if (chromiumMissing) throw new Error(chromiumMissing)
}

/**
 * Launches headless Chromium with a fresh, throwaway profile. playwright-core turns Chromium's
 * popup blocker off (`--disable-popup-blocking`); `popupBlocker: true` keeps it on, as in a
 * browser people use, for tests of what a blocked popup does.
 */
export async function launchChromium(options: { popupBlocker?: boolean } = {}): Promise<Browser> {
  assertChromium()
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    ...(options.popupBlocker === true ? { ignoreDefaultArgs: ['--disable-popup-blocking'] } : {}),
  })
}

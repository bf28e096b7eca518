/**
 * Tabs of the test app in one browser context (one profile: shared IndexedDB, Web Locks and
 * BroadcastChannel), with the provider's issuer and client id put in place before any script runs.
 */
import type { BrowserContext, Page } from 'playwright-core'
import { CONFIG_KEYS } from '../app/window.js'

/** Makes every page of `context` on `appOrigin` use this provider. */
export async function configureApp(
  context: BrowserContext,
  appOrigin: string,
  issuer: string,
  clientId: string,
  options: { dpop?: boolean; refreshIn?: 'worker' | 'page'; requestTimeoutMs?: number } = {},
): Promise<void> {
  await context.addInitScript(
    ({ keys, issuer, clientId, dpop, refreshIn, requestTimeoutMs }) => {
      if (location.origin === keys.appOrigin) {
        localStorage.setItem(keys.issuer, issuer)
        localStorage.setItem(keys.clientId, clientId)
        localStorage.setItem(keys.dpop, String(dpop))
        localStorage.setItem(keys.refreshIn, refreshIn)
        localStorage.setItem(keys.requestTimeoutMs, requestTimeoutMs)
      }
    },
    {
      keys: { ...CONFIG_KEYS, appOrigin },
      issuer,
      clientId,
      dpop: options.dpop === true,
      refreshIn: options.refreshIn ?? 'worker',
      requestTimeoutMs: options.requestTimeoutMs === undefined ? '' : String(options.requestTimeoutMs),
    },
  )
}

/** Opens a new tab on `url` and waits until the app loaded its session and handled any callback. */
export async function openTab(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage()
  await page.goto(url)
  await page.evaluate(() => window.appReady)
  return page
}

/** Signs in from `page` through the provider's auto-approving interaction and waits for the app. */
export async function signInFrom(page: Page, appOrigin: string): Promise<void> {
  await Promise.all([
    page.waitForEvent('load', { predicate: () => new URL(page.url()).origin === appOrigin }),
    page.evaluate(() => void window.auth.signIn({ returnTo: '/' })),
  ])
  await page.evaluate(() => window.appReady)
}

/** The parts of the snapshot the tests compare. */
export function snapshotOf(page: Page) {
  return page.evaluate(() => {
    const { status, user, reason, expiresAt, error } = window.auth.getSnapshot()
    return { status, sub: user?.sub ?? null, reason, expiresAt, error: error && error.code }
  })
}

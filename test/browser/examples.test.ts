/**
 * The example apps and the playground as a developer runs them (in Chromium only: they are the
 * apps' own flows, which the engine suites already cover in every engine): Vite's dev server started like
 * `npm run dev:react`, `npm run dev:vue` and `npm run dev`, with the provider it embeds under /oidc.
 * In Chromium each example signs in on the provider's sign-in page, calls its API with
 * `auth.fetch`, reloads signed in, signs out, and sends a signed-out visitor of its protected page
 * to sign in and back. No request leaves 127.0.0.1, and the dev server prints Vite's own lines only.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO } from './frameworks/fresh-project.js'
import { launchChromium, skipBrowserSuites } from './support/chromium.js'

const VITE = join(REPO, 'node_modules', 'vite', 'bin', 'vite.js')
/** A dev server this suite forgot to stop stops by itself. */
const DEV_SERVER_LIFETIME_MS = 5 * 60_000

interface DevServer {
  origin: string
  /** Everything it printed, stdout and stderr. */
  output(): string
  stop(): Promise<void>
}

/** Starts Vite's dev server on `root` (relative to the repository) on a free port, as `npm run dev` does. */
async function startDevServer(root: string): Promise<DevServer> {
  // The variables of the Vitest running this suite are left out (VITEST turns the embedded provider off).
  const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1' }
  const child = spawn(process.execPath, [VITE, root, '--port', '0'], {
    cwd: REPO,
    env,
    timeout: DEV_SERVER_LIFETIME_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const origin = await new Promise<string>((resolve, reject) => {
    const seen = () => {
      const match = /Local:\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(output)
      if (match) resolve(match[1]!)
    }
    child.stdout.on('data', seen)
    child.once('exit', (code) => reject(new Error(`vite ${root} exited (${code}) before listening:\n${output}`)))
  })
  return { origin, output: () => output, stop: () => stop(child) }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill()
  })
}

/**
 * The lines a dev server printed that are not Vite's own: its banner, its URLs and its
 * `[vite]`-tagged progress lines (the dependency optimizer on a first start) are Vite's.
 */
function linesNotFromVite(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^VITE v\d|^➜|\[vite\]/.test(line))
}

describe.skipIf(skipBrowserSuites)('the examples and the playground on their dev servers, in Chromium', () => {
  let browser: Browser
  const servers: DevServer[] = []
  const timings: Record<string, number> = {}

  beforeAll(async () => {
    browser = await launchChromium()
  })

  afterAll(async () => {
    console.info(`timings (ms): ${JSON.stringify(timings)}`)
    await browser?.close()
    await Promise.all(servers.map((server) => server.stop()))
  })

  /** A fresh profile on `server`; what leaves the machine and what the page reports land in `problems`. */
  async function open(server: DevServer, problems: string[]): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext()
    context.on('request', (request) => {
      const url = new URL(request.url())
      if (url.protocol !== 'data:' && url.hostname !== '127.0.0.1') problems.push(`request to ${url.href}`)
    })
    const page = await context.newPage()
    page.on('pageerror', (error) => problems.push(`${page.url()}: ${error.stack ?? error.message}`))
    page.on('console', (message) => {
      // Chromium asks every origin for /favicon.ico: Vite answers 404 for the provider's pages.
      if (message.location().url.endsWith('/favicon.ico')) return
      if (message.type() === 'error' || message.type() === 'warning')
        problems.push(`console.${message.type()}: ${message.text()} (${message.location().url})`)
    })
    return { context, page }
  }

  /** The provider's sign-in page: renders offline, and any name signs in. */
  async function signInAtProvider(page: Page, server: DevServer): Promise<void> {
    await page.waitForURL(`${server.origin}/oidc/interaction/**`)
    await page.getByRole('button', { name: 'Sign in' }).click()
  }

  it.each([
    ['react', 'examples/react'],
    ['vue', 'examples/vue'],
  ])(
    'the %s example signs in, calls its API, reloads signed in, signs out, and guards its profile page',
    async (name, root) => {
      let started = performance.now()
      const server = await startDevServer(root)
      servers.push(server)
      timings[`${name}: dev server`] = Math.round(performance.now() - started)
      const problems: string[] = []
      const { context, page } = await open(server, problems)
      const apiAnswer = page.getByText('The API says you are Alice Example (alice).')
      started = performance.now()
      try {
        await page.goto(`${server.origin}/`)
        await page.getByRole('button', { name: 'Sign in' }).click()
        await signInAtProvider(page, server)
        await page.getByText('Signed in as Alice Example').waitFor()
        expect(page.url()).toBe(`${server.origin}/`)

        await page.getByRole('link', { name: 'Profile' }).click()
        await apiAnswer.waitFor()

        await page.reload()
        await apiAnswer.waitFor()
        await page.getByText('Signed in as Alice Example').waitFor()

        await page.getByRole('button', { name: 'Sign out' }).click()
        await page.locator('button[name="logout"][value="yes"]').click()
        await page.waitForURL(`${server.origin}/`)
        await page.getByRole('button', { name: 'Sign in' }).waitFor()

        await page.goto(`${server.origin}/profile`)
        await signInAtProvider(page, server)
        await apiAnswer.waitFor()
        expect(page.url()).toBe(`${server.origin}/profile`)
      } finally {
        timings[`${name}: in Chromium`] = Math.round(performance.now() - started)
        await context.close()
        await server.stop()
      }
      expect(problems).toEqual([])
      expect(linesNotFromVite(server.output())).toEqual([])
    },
  )

  it('npm run dev: the playground signs in on the embedded provider, and the server prints only its URL', async () => {
    const server = await startDevServer('.')
    servers.push(server)
    const problems: string[] = []
    const { context, page } = await open(server, problems)
    try {
      await page.goto(`${server.origin}/`)
      await page.locator('#status', { hasText: 'signed-out' }).waitFor()
      await page.locator('#sign-in').click()
      await signInAtProvider(page, server)
      await page.locator('#status', { hasText: 'signed-in' }).waitFor()
    } finally {
      await context.close()
      await server.stop()
    }
    expect(problems).toEqual([])
    expect(linesNotFromVite(server.output())).toEqual([])
  })
})

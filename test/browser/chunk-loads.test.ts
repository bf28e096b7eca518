/**
 * Code that fails to load, in a real browser: the app's later chunks (everything the page does not
 * load up front) are cut off at the network, the way a mobile blip, a laptop waking offline or a
 * deploy that deleted the old hashed files makes an `import()` fail. Nothing the user must be able
 * to do waits for such code, and a failure is an AuthError. Code that comes back is used again
 * without a reload in Chromium, which fetches a failed module again; Firefox keeps a failed module
 * until the page reloads, so those cases run in Chromium only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { startTestApp, type TestApp } from './support/app-server.js'
import {
  engine,
  engineName,
  launchEngine,
  skipBrowserSuites,
  type Engine,
  type Profile,
  type Tab,
} from './support/engine.js'
import { configureApp, openTab, signInFrom, snapshotOf } from './support/tabs.js'

/** The scripts a page loads up front: the entry and its modulepreloads, as index.html lists them. */
async function firstLoadScripts(origin: string): Promise<Set<string>> {
  const html = await (await fetch(`${origin}/`)).text()
  return new Set([...html.matchAll(/(?:src|href)="([^"]+\.js)"/g)].map(([, path]) => new URL(path!, origin).pathname))
}

interface Network {
  /** While true, every later chunk the app asks for fails to arrive. */
  failing: boolean
  /** The paths of the chunks that failed. */
  readonly failed: string[]
}

/** Only Chromium fetches a module again after a failed load; Firefox keeps the failure until a reload. */
const itRetriesLoads = engineName === 'chromium' ? it : it.skip

describe.skipIf(skipBrowserSuites)(`code that fails to load, in ${engine.title}`, () => {
  let app: TestApp
  let provider: TestProvider
  let browser: Engine
  let upFront: Set<string>

  beforeAll(async () => {
    app = await startTestApp()
    provider = await startTestProvider({
      profile: 'strict',
      redirectUris: [`${app.origin}/callback`],
      postLogoutRedirectUris: [`${app.origin}/`],
    })
    upFront = await firstLoadScripts(app.origin)
    browser = await launchEngine(undefined, { popupBlocker: true })
  })

  afterAll(async () => {
    await browser?.close()
    await provider?.close()
    await app?.close()
  })

  /** A fresh profile for the app, and the switch that cuts off the app's later chunks in the tabs that follow it. */
  async function profile(refreshIn: 'worker' | 'page' = 'page'): Promise<{ context: Profile; network: Network }> {
    const context = await browser.newProfile()
    await configureApp(context, app.origin, provider.issuer, provider.clientId, { refreshIn })
    return { context, network: { failing: false, failed: [] } }
  }

  /** Makes `tab` lose every later chunk of the app while `network.failing`. */
  function follow(tab: Tab, network: Network): Promise<void> {
    const laterChunk = (url: string) =>
      url.startsWith(app.origin) && url.endsWith('.js') && !upFront.has(new URL(url).pathname)
    return tab.intercept(laterChunk, async (url) => {
      if (!network.failing) return 'continue'
      network.failed.push(new URL(url).pathname)
      return 'abort'
    })
  }

  /** Opens the app with the later chunks cut off, and waits until its idle-time loading has failed. */
  async function openOffline(context: Profile, network: Network): Promise<Tab> {
    network.failing = true
    const page = await context.newTab()
    await follow(page, network)
    await page.goto(`${app.origin}/`)
    await page.evaluate(() => window.appReady)
    await expect.poll(() => network.failed.length, { timeout: 10_000 }).toBeGreaterThan(0)
    return page
  }

  /** What a call in the page settled with: `{ ok }`, or the error's code (`unexpected` for a raw error). */
  function settle(page: Tab, call: string): Promise<{ ok: true } | { code: string }> {
    return page.evaluate(async (source: string) => {
      try {
        await (new Function('auth', `return ${source}`) as (auth: unknown) => Promise<unknown>)(window.auth)
        return { ok: true as const }
      } catch (error) {
        const code = (error as { code?: unknown }).code
        return { code: typeof code === 'string' && (error as Error).name === 'AuthError' ? code : 'unexpected' }
      }
    }, call)
  }

  const storedSession = (page: Tab) =>
    page.evaluate(
      (key: string) =>
        new Promise<unknown>((resolve, reject) => {
          const open = indexedDB.open('spa-auth')
          open.onerror = () => reject(open.error)
          open.onsuccess = () => {
            const read = open.result.transaction('kv').objectStore('kv').get(key)
            read.onsuccess = () => resolve(read.result)
          }
        }),
      `session:${provider.issuer}|${provider.clientId}`,
    )

  it('signs out in every tab, and wipes the stored session, when no code can be fetched', async () => {
    const { context, network } = await profile('worker')
    const first = await openTab(context, `${app.origin}/`)
    await signInFrom(first, app.origin)
    const page = await openOffline(context, network)

    expect(await settle(page, 'auth.signOut({ redirect: false })')).toEqual({ ok: true })

    expect(await snapshotOf(page)).toMatchObject({ status: 'signed-out', reason: 'signed-out' })
    expect(await storedSession(page)).toBeUndefined()
    await expect.poll(async () => (await snapshotOf(first)).status).toBe('signed-out')
    // The revocation needs the protocol's code: what failed is said, and nothing else was lost.
    expect((await snapshotOf(page)).error).toBe('chunk_load_failed')
    await context.close()
  })

  itRetriesLoads(
    'says why a refresh could not run, and refreshes once its code is back, without a reload',
    async () => {
      const { context, network } = await profile('page')
      const first = await openTab(context, `${app.origin}/`)
      await signInFrom(first, app.origin)
      await first.close()
      const page = await openOffline(context, network)
      provider.resetRequests()

      expect(await settle(page, 'auth.refresh()')).toEqual({ code: 'chunk_load_failed' })
      expect(await snapshotOf(page)).toMatchObject({ status: 'signed-in', error: 'chunk_load_failed' })

      network.failing = false
      expect(await settle(page, 'auth.refresh()')).toEqual({ ok: true })
      expect(provider.countRequests({ grantType: 'refresh_token' })).toBe(1)
      expect(await snapshotOf(page)).toMatchObject({ status: 'signed-in', error: null })
      await context.close()
    },
  )

  itRetriesLoads('signs in once the sign-in code is back, after its idle-time load failed', async () => {
    const { context, network } = await profile()
    const page = await openOffline(context, network)

    expect(await settle(page, 'auth.createSignInUrl()')).toEqual({ code: 'chunk_load_failed' })
    network.failing = false
    const url = await page.evaluate(() => window.auth.createSignInUrl())
    expect(new URL(url).origin).toBe(new URL(provider.issuer).origin)
    await context.close()
  })

  itRetriesLoads('calls the API once the code of auth.fetch is back', async () => {
    const { context, network } = await profile()
    const first = await context.newTab()
    await follow(first, network)
    await first.goto(`${app.origin}/`)
    await first.evaluate(() => window.appReady)
    await signInFrom(first, app.origin)
    const userinfo = `${provider.issuer}/me`
    network.failing = true

    expect(await settle(first, `auth.fetch(${JSON.stringify(userinfo)})`)).toEqual({ code: 'chunk_load_failed' })
    network.failing = false
    expect(await first.evaluate(async (url: string) => (await window.auth.fetch(url)).status, userinfo)).toBe(200)
    await context.close()
  })

  it('closes the sign-in popup when its code cannot be fetched, and says why', async () => {
    const { context, network } = await profile()
    const page = await openOffline(context, network)
    const popup = context.nextTab()

    await page.click('#popup')
    await (await popup).waitForClose(10_000)

    await expect
      .poll(() => page.evaluate(() => window.popupOutcome))
      .toEqual({
        error: { code: 'chunk_load_failed', message: expect.any(String) },
      })
    expect((await context.tabs()).map((tab) => tab.id)).toEqual([page.id])
    await context.close()
  })
})

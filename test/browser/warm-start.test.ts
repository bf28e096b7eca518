/**
 * A returning visitor's page load in a real browser: with a stored session
 * whose token is far from due, the reload reads IndexedDB once, fetches none of the protocol code
 * (oauth4webapi and our steps over it) and sends nothing to the provider. With a token due right
 * after the load, the code of the refresh is fetched ahead of time and the refresh goes out when it
 * is due, both where refreshes run in the refresh worker (the SharedWorker in Chromium, the refresh
 * service worker in Firefox) and in the page (where the app asks for it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { startTestApp, type TestApp } from './support/app-server.js'
import { engine, launchEngine, skipBrowserSuites, type Engine, type Profile, type Tab } from './support/engine.js'
import { configureApp, openTab, signInFrom, snapshotOf } from './support/tabs.js'

/** A token that stays valid for the whole test. */
const LONG_LIFETIME_SECONDS = 3600
/** Refresh due 7.5 s after it was issued (the leeway is a quarter of it), a few seconds after the reload. */
const SHORT_LIFETIME_SECONDS = 10
/** How late a refresh may reach the provider after its due time. */
const ON_TIME_MS = 1_000
/** A string every build of oauth4webapi carries (its error codes), and none of our page-load code. */
const OAUTH4WEBAPI_MARKER = 'OAUTH_'

/** A script the browser fetched, and when. */
interface ScriptLoad {
  url: string
  at: number
}

/** Whether the script at `url` carries oauth4webapi (the server serves the built app as it is). */
async function carriesOauth4webapi(url: string): Promise<boolean> {
  return (await (await fetch(url)).text()).includes(OAUTH4WEBAPI_MARKER)
}

/** How a test's title says where refreshes run, where it asks them to run, and where they do in this engine. */
/** The scripts of the service workers registered for this page's origin, newest state first (active, waiting, installing). */
function registeredServiceWorkers(page: Tab): Promise<Array<string | undefined>> {
  return page.evaluate(async () =>
    'serviceWorker' in navigator
      ? (await navigator.serviceWorker.getRegistrations()).map((registration) =>
          (registration.active ?? registration.waiting ?? registration.installing)?.scriptURL.split('/').pop(),
        )
      : [],
  )
}

const HOSTS = (['worker', 'page'] as const).map((refreshIn) => {
  const runsIn = refreshIn === 'worker' ? engine.refreshHost : ('page' as const)
  const where = runsIn === refreshIn ? refreshIn : `${runsIn}, asked for the ${refreshIn}`
  return [where, { refreshIn, runsIn }] as const
})

/** The page's window, with the reads {@link countIndexedDbReads} counted in its document. */
type WithReads = Window & { indexedDbReads?: string[] }

/**
 * Counts, in every page of the app's origin, the calls that read an IndexedDB object store or
 * index: a fresh count for each document.
 */
function countIndexedDbReads(appOrigin: string): void {
  if (location.origin !== appOrigin) return
  const reads: string[] = []
  ;(window as WithReads).indexedDbReads = reads
  const methods = ['get', 'getAll', 'getAllKeys', 'getKey', 'openCursor', 'openKeyCursor', 'count'] as const
  for (const target of [IDBObjectStore.prototype, IDBIndex.prototype]) {
    for (const method of methods) {
      const original = (target as unknown as Record<string, (...args: unknown[]) => unknown>)[method]
      if (typeof original !== 'function') continue
      Object.defineProperty(target, method, {
        configurable: true,
        writable: true,
        value(this: IDBObjectStore | IDBIndex, ...args: unknown[]) {
          reads.push(`${this.name}.${method}(${typeof args[0] === 'string' ? args[0] : ''})`)
          return original.apply(this, args)
        },
      })
    }
  }
}

describe.skipIf(skipBrowserSuites)(`a warm start in ${engine.title}`, () => {
  let app: TestApp
  let browser: Engine
  const providers: TestProvider[] = []

  beforeAll(async () => {
    ;[app, browser] = await Promise.all([startTestApp(), launchEngine()])
  })

  afterAll(async () => {
    await browser?.close()
    await Promise.all(providers.map((provider) => provider.close()))
    await app?.close()
  })

  async function provider(accessTokenTtlSeconds: number): Promise<TestProvider> {
    const started = await startTestProvider({
      profile: 'strict',
      accessTokenTtlSeconds,
      redirectUris: [`${app.origin}/callback`],
      postLogoutRedirectUris: [`${app.origin}/`],
    })
    providers.push(started)
    return started
  }

  /** A fresh profile that counts IndexedDB reads and records every script it fetches from the app. */
  async function profile(
    at: TestProvider,
    refreshIn: 'worker' | 'page',
  ): Promise<{ context: Profile; scripts: ScriptLoad[] }> {
    const context = await browser.newProfile()
    await configureApp(context, app.origin, at.issuer, at.clientId, { refreshIn })
    await context.addInitScript(countIndexedDbReads, app.origin)
    const scripts: ScriptLoad[] = []
    context.onRequest(({ url }) => {
      if (url.startsWith(app.origin) && url.endsWith('.js')) scripts.push({ url, at: Date.now() })
    })
    return { context, scripts }
  }

  /** Reloads `page`; resolves, as of the moment the app was ready, the IndexedDB reads and the status. */
  async function reload(page: Tab): Promise<{ reads: string[]; status: string }> {
    await page.reload()
    return page.evaluate(async () => {
      await window.appReady
      return { reads: [...((window as WithReads).indexedDbReads ?? [])], status: window.auth.getSnapshot().status }
    })
  }

  it('reads IndexedDB once, loads no protocol code and asks the provider nothing', async () => {
    const at = await provider(LONG_LIFETIME_SECONDS)
    const { context, scripts } = await profile(at, 'worker')
    const page = await openTab(context, `${app.origin}/`)
    await signInFrom(page, app.origin)
    at.resetRequests()

    const reloadedAt = Date.now()
    const atReady = await reload(page)
    expect(atReady).toEqual({ status: 'signed-in', reads: [expect.stringMatching(/^kv\.get\(session:/)] })
    // Nothing later either: the session is loaded, the next refresh is an hour away.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(await page.evaluate(() => (window as WithReads).indexedDbReads)).toEqual(atReady.reads)
    expect(await snapshotOf(page)).toMatchObject({ status: 'signed-in', sub: 'alice' })
    const reloaded = scripts.filter((script) => script.at >= reloadedAt)
    expect(reloaded.length).toBeGreaterThan(0)
    expect(reloaded.filter((script) => script.url.includes('/provider-'))).toEqual([])
    const protocol = await Promise.all(reloaded.map(async ({ url }) => ((await carriesOauth4webapi(url)) ? url : '')))
    expect(protocol.filter(Boolean)).toEqual([])
    expect(at.requests).toEqual([])
    await context.close()
  })

  // Side by side: each waits most of a token's life, in a profile and at a provider of its own.
  it.concurrent.for(HOSTS)(
    'refreshes on time when the token is due right after the load, its code fetched before (refreshes in the %s)',
    async ([, { refreshIn, runsIn }], { expect }) => {
      const at = await provider(SHORT_LIFETIME_SECONDS)
      const { context, scripts } = await profile(at, refreshIn)
      const page = await openTab(context, `${app.origin}/`)
      await signInFrom(page, app.origin)
      const signedIn = await snapshotOf(page)
      // The service worker is registered in idle time after the sign-in; a reload before the page
      // asked for it leaves nothing to outlive the reload. Wait until the browser has it.
      if (runsIn === 'service-worker') {
        await expect.poll(() => registeredServiceWorkers(page), { timeout: 10_000 }).toHaveLength(1)
      }
      at.resetRequests()
      const refreshed = at.holdNext({ grantType: 'refresh_token' })
      let reachedAt: number | undefined
      void refreshed.reached.then(() => {
        reachedAt = Date.now()
        refreshed.release()
      })

      const reloadedAt = Date.now()
      await reload(page)
      const dueAt = (await page.evaluate(() => window.auth.nextRefreshAt()))!
      const registeredBefore = await registeredServiceWorkers(page)
      expect(await page.evaluate(() => window.auth.refreshIn)).toBe(runsIn)
      expect(dueAt).toBeGreaterThan(Date.now())
      expect(at.countRequests({ grantType: 'refresh_token' })).toBe(0)

      await expect.poll(() => reachedAt, { timeout: dueAt - Date.now() + 5_000, interval: 50 }).toBeDefined()
      expect(reachedAt! - dueAt).toBeLessThanOrEqual(ON_TIME_MS)
      await expect
        .poll(async () => (await snapshotOf(page)).expiresAt, { timeout: 5_000 })
        .toBeGreaterThan(signedIn.expiresAt!)
      expect(await snapshotOf(page)).toMatchObject({ status: 'signed-in', sub: 'alice' })
      expect(at.countRequests({ grantType: 'refresh_token' })).toBe(1)

      // The code of the refresh was there before it was due: in the page, the session's changes
      // (and with refreshes in the page, the protocol), preloaded after the reload; the refresh
      // worker, started (or the service worker registered) after the sign-in, outlived the reload.
      const fetchedBeforeDue = (part: string, since: number) =>
        scripts.some((script) => script.url.includes(part) && script.at >= since && script.at <= dueAt)
      expect(fetchedBeforeDue('/page-', reloadedAt)).toBe(true)
      if (runsIn === 'page') {
        expect(fetchedBeforeDue('/provider-', reloadedAt)).toBe(true)
      } else {
        // A service worker's script is fetched by the browser, not by the tab: the registration says it.
        if (runsIn === 'worker') expect(fetchedBeforeDue('refresh-worker', 0)).toBe(true)
        else expect(registeredBefore).toEqual([expect.stringMatching(/^refresh-service-worker.*\.js$/)])
        expect(scripts.filter((script) => script.at >= reloadedAt && script.url.includes('/provider-'))).toEqual([])
      }
      await context.close()
    },
  )

  it.each(HOSTS)(
    'makes one refresh for two tabs that ask at once while one still fetches its refresh code (refreshes in the %s)',
    async (_, { refreshIn }) => {
      const at = await provider(LONG_LIFETIME_SECONDS)
      const { context } = await profile(at, refreshIn)
      const first = await openTab(context, `${app.origin}/`)
      await signInFrom(first, app.origin)
      // A second tab, loaded with the session: the code that changes it is fetched after the load
      // (in idle time, or when first needed), and here that fetch is held until the first tab has
      // refreshed.
      const second = await context.newTab()
      let requested!: () => void
      const fetching = new Promise<void>((resolve) => (requested = resolve))
      let release!: () => void
      const released = new Promise<void>((resolve) => (release = resolve))
      await second.intercept(
        (url) => /\/page-[^/]*\.js$/.test(url),
        async () => {
          requested()
          await released
          return 'continue'
        },
      )
      await second.goto(`${app.origin}/`)
      await second.evaluate(() => window.appReady)
      at.resetRequests()

      const refresh = (page: Tab) =>
        page.evaluate(() =>
          window.auth.refresh().then(
            () => 'refreshed',
            (error: { code?: string }) => error.code ?? String(error),
          ),
        )
      const secondRefreshed = refresh(second)
      await fetching
      expect(await refresh(first)).toBe('refreshed')
      const renewed = (await snapshotOf(first)).expiresAt
      await expect.poll(async () => (await snapshotOf(second)).expiresAt).toBe(renewed)
      release()

      // The second tab asked for a token newer than the one it held: the first tab's is.
      expect(await secondRefreshed).toBe('refreshed')
      expect(at.countRequests({ grantType: 'refresh_token' })).toBe(1)
      const tokens = await Promise.all([first, second].map((page) => page.evaluate(() => window.auth.getAccessToken())))
      expect(tokens[1]).toBe(tokens[0])
      await context.close()
    },
  )
})

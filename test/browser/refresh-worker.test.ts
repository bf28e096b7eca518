/**
 * A refresh no reload or closed tab can kill (issue #13, and #21 for the engines without
 * SharedWorker `extendedLifetime`), in a real browser: the provider rotates the refresh token (reuse
 * detection on) and holds its answer 500 ms; the page goes away as soon as the refresh reached the
 * provider. The refresh worker finishes the refresh and stores the rotated token; the app, back
 * again, is signed in with a token the provider accepts and refreshes fine. The worker is the
 * SharedWorker in Chromium and the refresh service worker in Firefox (engine.refreshHost). The same
 * scenario with refreshes in the page loses the session: the control that shows the scenario bites.
 * A page whose Content-Security-Policy forbids workers refreshes itself, and says so.
 */
import { afterAll, beforeAll, describe, expect, it, type ExpectStatic } from 'vitest'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { startTestApp, type TestApp } from './support/app-server.js'
import { engine, launchEngine, skipBrowserSuites, type Engine, type Profile, type Tab } from './support/engine.js'
import { configureApp, openTab, signInFrom, snapshotOf } from './support/tabs.js'

/** How long the provider keeps the answer back after rotating: the window a leaving page falls into. */
const HOLD_MS = 500
const ROUNDS = 5
/** Pages under this path are served with a Content-Security-Policy that allows no worker. */
const NO_WORKERS = '/no-workers'

describe.skipIf(skipBrowserSuites)(`refreshes that outlive the page (the refresh worker) in ${engine.title}`, () => {
  let app: TestApp
  let browser: Engine
  let provider: TestProvider
  /** Binds every token to a DPoP key and asks for a server nonce in every proof. */
  let dpopProvider: TestProvider
  /** The providers of the tests that run side by side, one each (a held answer is a provider's). */
  const ownProviders: TestProvider[] = []

  beforeAll(async () => {
    app = await startTestApp({
      headers: (path) => (path.startsWith(NO_WORKERS) ? { 'content-security-policy': "worker-src 'none'" } : undefined),
    })
    const registered = { redirectUris: [`${app.origin}/callback`], postLogoutRedirectUris: [`${app.origin}/`] }
    ;[browser, provider, dpopProvider] = await Promise.all([
      launchEngine(),
      startTestProvider({ profile: 'strict', accessTokenTtlSeconds: 3600, ...registered }),
      startTestProvider({ profile: 'strict', accessTokenTtlSeconds: 3600, dpop: 'required', ...registered }),
    ])
  })

  afterAll(async () => {
    await browser?.close()
    await provider?.close()
    await dpopProvider?.close()
    await Promise.all(ownProviders.map((own) => own.close()))
    await app?.close()
  })

  /** A provider of the test's own, like `provider`. */
  async function ownProvider(): Promise<TestProvider> {
    const own = await startTestProvider({
      profile: 'strict',
      accessTokenTtlSeconds: 3600,
      redirectUris: [`${app.origin}/callback`],
      postLogoutRedirectUris: [`${app.origin}/`],
    })
    ownProviders.push(own)
    return own
  }

  /** A signed-in tab of a fresh browser profile, whose refreshes run where `runsIn` says. */
  async function signedInTab(
    refreshIn: 'worker' | 'page',
    at: TestProvider = provider,
  ): Promise<{ context: Profile; page: Tab }> {
    const context = await browser.newProfile()
    await configureApp(context, app.origin, at.issuer, at.clientId, { refreshIn, dpop: at === dpopProvider })
    const page = await openTab(context, `${app.origin}/`)
    await signInFrom(page, app.origin)
    expect(await page.evaluate(() => window.auth.refreshIn)).toBe(refreshIn === 'worker' ? engine.refreshHost : 'page')
    return { context, page }
  }

  /**
   * Starts a refresh in `page`, waits until the provider has rotated the refresh token, lets the
   * answer go 500 ms later, and meanwhile makes the page go away with `leave`, which resolves the
   * tab the app runs in afterwards; and until when the session was signed in before.
   */
  async function leaveDuringRefresh(
    page: Tab,
    leave: () => Promise<Tab>,
    at = provider,
  ): Promise<{ page: Tab; expiresAt: number }> {
    const { expiresAt } = await snapshotOf(page)
    const hold = at.holdNext({ grantType: 'refresh_token' })
    void page.evaluate(() => void window.auth.refresh().catch(() => {}))
    await hold.reached
    const released = new Promise<void>((resolve) =>
      setTimeout(() => {
        hold.release()
        resolve()
      }, HOLD_MS),
    )
    const next = await leave()
    await released
    return { page: next, expiresAt: expiresAt! }
  }

  /** `auth.refresh()` in `page`: `'refreshed'`, or the code it rejected with. */
  const refresh = (page: Tab) =>
    page.evaluate(() =>
      window.auth.refresh().then(
        () => 'refreshed',
        (error: { code?: string }) => error.code ?? String(error),
      ),
    )

  /**
   * The app, back after leaving, holds the session the refresh it left rotated to (valid until
   * later than before); the provider accepts its access token, and its next refresh grant. A test
   * that runs side by side with others passes its own `check` (its context's `expect`).
   */
  async function expectSessionKept(
    { page, expiresAt }: { page: Tab; expiresAt: number },
    at = provider,
    check: ExpectStatic = expect,
  ) {
    await check.poll(async () => (await snapshotOf(page)).expiresAt, { timeout: 5_000 }).toBeGreaterThan(expiresAt)
    await expectSessionAlive(page, at, check)
  }

  /** Signed in, with an access token the provider accepts, and a next refresh grant the provider answers. */
  async function expectSessionAlive(page: Tab, at = provider, check: ExpectStatic = expect): Promise<void> {
    check(await snapshotOf(page)).toMatchObject({ status: 'signed-in', error: null })
    check(await page.evaluate(() => window.auth.getUserInfo().then(({ sub }) => sub))).toBe('alice')
    const grants = at.countRequests({ grantType: 'refresh_token' })
    check(await refresh(page)).toBe('refreshed')
    check(at.countRequests({ grantType: 'refresh_token' })).toBe(grants + 1)
    check(await page.evaluate(() => window.auth.getUserInfo().then(({ sub }) => sub))).toBe('alice')
  }

  /** The token endpoint's requests that `page` itself sent, from now on. */
  async function tokenRequestsOf(context: Profile, page: Tab): Promise<string[]> {
    const { token_endpoint } = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as {
      token_endpoint: string
    }
    const sent: string[] = []
    context.onRequest((request) => {
      if (request.tabId === page.id && request.method === 'POST' && request.url === token_endpoint)
        sent.push(request.url)
    })
    return sent
  }

  const reload = (page: Tab) => async () => {
    await page.reload()
    await page.evaluate(() => window.appReady)
    return page
  }

  const withRefreshWorker = it.runIf(engine.refreshWorker)
  // The three ways to leave run side by side, each in a profile and at a provider of its own.
  const survives = engine.refreshWorker ? it.concurrent : it.skip

  survives(`survives a reload as soon as the refresh reached the provider (${ROUNDS} times)`, async ({ expect }) => {
    const at = await ownProvider()
    const { context, page } = await signedInTab('worker', at)
    for (let round = 0; round < ROUNDS; round++) {
      await expectSessionKept(await leaveDuringRefresh(page, reload(page), at), at, expect)
    }
    await context.close()
  })

  survives(`survives closing the only tab and opening the app 2 s later (${ROUNDS} times)`, async ({ expect }) => {
    const at = await ownProvider()
    let { context, page } = await signedInTab('worker', at)
    for (let round = 0; round < ROUNDS; round++) {
      const left = await leaveDuringRefresh(
        page,
        async () => {
          await page.close()
          await new Promise((resolve) => setTimeout(resolve, 2_000))
          return openTab(context, `${app.origin}/`)
        },
        at,
      )
      await expectSessionKept(left, at, expect)
      page = left.page
    }
    await context.close()
  })

  survives(`survives navigating to another origin and back (${ROUNDS} times)`, async ({ expect }) => {
    const at = await ownProvider()
    const { context, page } = await signedInTab('worker', at)
    for (let round = 0; round < ROUNDS; round++) {
      await expectSessionKept(
        await leaveDuringRefresh(
          page,
          async () => {
            await page.goto(`${at.issuer}/.well-known/openid-configuration`)
            await page.goto(`${app.origin}/`)
            await page.evaluate(() => window.appReady)
            return page
          },
          at,
        ),
        at,
        expect,
      )
    }
    await context.close()
  })

  withRefreshWorker(
    'refreshes with DPoP in the worker: the key from IndexedDB signs proofs, server nonces included',
    async () => {
      const { context, page } = await signedInTab('worker', dpopProvider)
      await expectSessionKept(await leaveDuringRefresh(page, reload(page), dpopProvider), dpopProvider)
      const token = await page.evaluate(() => window.auth.getAccessToken())
      expect(await dpopProvider.accessTokenBinding(token)).toEqual(expect.any(String))
      await context.close()
    },
  )

  withRefreshWorker(`refreshes in the ${engine.refreshHost}, never in the tab, and says so in refreshIn`, async () => {
    const { context, page } = await signedInTab('worker')
    const sentByTheTab = await tokenRequestsOf(context, page)
    provider.resetRequests()
    await expectSessionAlive(page)
    expect(provider.countRequests({ grantType: 'refresh_token' })).toBe(1)
    expect(sentByTheTab).toEqual([])
    expect(await page.evaluate(() => window.auth.refreshIn)).toBe(engine.refreshHost)
    await context.close()
  })

  it.runIf(engine.refreshHost === 'service-worker')(
    'registers the service worker under a scope of its own beside its script, and controls no page',
    async () => {
      const { context, page } = await signedInTab('worker')
      expect(await refresh(page)).toBe('refreshed')
      const registrations = await page.evaluate(async () =>
        (await navigator.serviceWorker.getRegistrations()).map((registration) => ({
          scope: registration.scope,
          script: registration.active?.scriptURL,
          state: registration.active?.state,
        })),
      )
      expect(registrations).toEqual([
        {
          scope: `${app.origin}/assets/spa-auth-refresh@2/`,
          script: expect.stringMatching(new RegExp(`^${app.origin}/assets/refresh-service-worker-[\\w-]+\\.js$`)),
          state: 'activated',
        },
      ])
      expect(await page.evaluate(() => navigator.serviceWorker.controller)).toBeNull()
      await context.close()
    },
  )

  it('refreshes in the page where the Content-Security-Policy allows no worker, and says so in refreshIn', async () => {
    const { context, page } = await signedInTab('worker')
    await page.goto(`${app.origin}${NO_WORKERS}`)
    await page.evaluate(() => window.appReady)
    const sentByTheTab = await tokenRequestsOf(context, page)
    provider.resetRequests()

    await expectSessionAlive(page)

    expect(await page.evaluate(() => window.auth.refreshIn)).toBe('page')
    expect(provider.countRequests({ grantType: 'refresh_token' })).toBe(1)
    expect(sentByTheTab).toHaveLength(1)
    await context.close()
  })

  it('records no failure for a refresh in the page that its own reload cut off: no error, no backoff', async () => {
    const { context, page } = await signedInTab('page')
    const { expiresAt } = await snapshotOf(page)
    const hold = provider.holdNext({ grantType: 'refresh_token' })
    void page.evaluate(() => void window.auth.refresh().catch(() => {}))
    await hold.reached

    // The provider has rotated the refresh token and holds its answer: the reload cuts the request off.
    await page.reload()
    const first = await page.evaluate(async () => {
      await window.appReady
      return { error: window.auth.getSnapshot().error?.code ?? null, status: window.auth.getSnapshot().status }
    })
    hold.release()
    const stored = await page.evaluate(storedSession, `session:${provider.issuer}|${provider.clientId}`)

    expect(first).toEqual({ status: 'signed-in', error: null })
    expect(stored).toMatchObject({ revision: expect.any(Number) })
    expect(stored).not.toHaveProperty('failure')
    expect(await snapshotOf(page)).toMatchObject({ status: 'signed-in', error: null, expiresAt })
    // The next refresh is the one planned before the token's expiry, not a retry after a backoff.
    expect(await page.evaluate(() => window.auth.nextRefreshAt())).toBeGreaterThan(Date.now() + 30 * 60_000)
    await context.close()
  })

  it('loses the session in the same reload when refreshes run in the page (the control)', async () => {
    const { context, page } = await signedInTab('page')
    await leaveDuringRefresh(page, reload(page))
    // The answer with the rotated token went to a page that no longer exists; the store still
    // holds the token the provider replaced, and presenting it trips reuse detection.
    expect(await refresh(page)).toBe('grant_rejected')
    expect(await snapshotOf(page)).toMatchObject({ status: 'signed-out', reason: 'refresh-rejected' })
    await context.close()
  })
})

/**
 * The session record in the page's IndexedDB under `key`, once every Web Lock held now (the session's,
 * by a refresh that may still finish) has been let go. Runs in the page.
 */
async function storedSession(key: string): Promise<Record<string, unknown> | undefined> {
  const { held = [] } = await navigator.locks.query()
  await Promise.all(held.map(({ name }) => name && navigator.locks.request(name, async () => {})))
  const database = await new Promise<IDBDatabase>((resolve, reject) => {
    const opening = indexedDB.open('spa-auth')
    opening.onsuccess = () => resolve(opening.result)
    opening.onerror = () => reject(opening.error)
  })
  try {
    return await new Promise((resolve, reject) => {
      const reading = database.transaction('kv').objectStore('kv').get(key)
      reading.onsuccess = () => resolve(reading.result as Record<string, unknown> | undefined)
      reading.onerror = () => reject(reading.error)
    })
  } finally {
    database.close()
  }
}

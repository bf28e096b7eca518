/**
 * The refresh engine in a real browser (Chromium and Firefox): real timers, IndexedDB, Web Locks and BroadcastChannel,
 * against oidc-provider with refresh-token rotation and reuse detection (a refresh token used
 * twice revokes the whole grant) on another origin. The figures are printed for the notes.
 */
import { afterAll, beforeAll, describe, it } from 'vitest'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { startTestApp, type TestApp } from './support/app-server.js'
import { engine, launchEngine, skipBrowserSuites, type Engine, type Profile, type Tab } from './support/engine.js'
import { configureApp, openTab, signInFrom, snapshotOf } from './support/tabs.js'

const LIFETIME_SECONDS = 9
const IDLE_MS = 3 * LIFETIME_SECONDS * 1000

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** One provider and one browser profile, with every token-endpoint answer the tabs received. */
interface Bench {
  provider: TestProvider
  context: Profile
  tokenEndpoint: string
  tokenStatuses: number[]
  refreshes(): number
}

describe.skipIf(skipBrowserSuites)(`the refresh engine in ${engine.title}`, () => {
  let app: TestApp
  let browser: Engine
  const benches: Bench[] = []

  beforeAll(async () => {
    app = await startTestApp()
    browser = await launchEngine()
  })

  afterAll(async () => {
    await browser?.close()
    await Promise.all(benches.map((bench) => bench.provider.close()))
    await app?.close()
  })

  async function bench(): Promise<Bench> {
    const provider = await startTestProvider({
      profile: 'strict',
      accessTokenTtlSeconds: LIFETIME_SECONDS,
      redirectUris: [`${app.origin}/callback`],
      postLogoutRedirectUris: [`${app.origin}/`],
    })
    const { token_endpoint } = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as {
      token_endpoint: string
    }
    const context = await browser.newProfile()
    await configureApp(context, app.origin, provider.issuer, provider.clientId)
    const tokenStatuses: number[] = []
    context.onResponse((response) => {
      if (response.url === token_endpoint && response.method === 'POST') tokenStatuses.push(response.status)
    })
    const made = {
      provider,
      context,
      tokenEndpoint: token_endpoint,
      tokenStatuses,
      refreshes: () => provider.countRequests({ grantType: 'refresh_token' }),
    }
    benches.push(made)
    return made
  }

  /** Records, in the page, every token getAccessToken() hands out and every refresh the snapshot shows. */
  function watch(page: Tab): Promise<void> {
    return page.evaluate(() => {
      const w = window as unknown as {
        handedOut: { at: number; expiresAt: number }[]
        refreshedAt: { at: number; previousExpiresAt: number }[]
      }
      w.handedOut = []
      w.refreshedAt = []
      let last = window.auth.getSnapshot().expiresAt
      window.auth.subscribe(() => {
        const { expiresAt } = window.auth.getSnapshot()
        if (expiresAt !== null && last !== null && expiresAt !== last)
          w.refreshedAt.push({ at: Date.now(), previousExpiresAt: last })
        last = expiresAt
      })
      // Every 250 ms on the clock, not with setInterval: Firefox starts each interval from the
      // moment the last one ran, so a loaded machine's late ticks add up (Chromium keeps to time).
      const startedAt = Date.now()
      let ticks = 0
      const schedule = () => setTimeout(tick, startedAt + ++ticks * 250 - Date.now())
      const tick = () => {
        void window.auth.getAccessToken().then(() => {
          w.handedOut.push({ at: Date.now(), expiresAt: window.auth.getSnapshot().expiresAt ?? 0 })
        })
        schedule()
      }
      schedule()
    })
  }

  const userinfoStatus = (page: Tab, issuer: string) =>
    page.evaluate(async (issuer) => {
      const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()
      return (await window.auth.fetch(discovery.userinfo_endpoint)).status
    }, issuer)

  it.concurrent('one idle tab refreshes once per token lifetime, always before expiry', async ({ expect }) => {
    const { provider, context, refreshes } = await bench()
    const page = await openTab(context, `${app.origin}/`)
    await signInFrom(page, app.origin)
    provider.resetRequests()
    await watch(page)

    await wait(IDLE_MS)
    // A refresh the provider counted at the last moment may still be on its way to the page: the
    // page records it when its response lands, a moment later.
    const counted = refreshes()
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { refreshedAt: unknown[] }).refreshedAt.length))
      .toBe(counted)

    const { handedOut, refreshedAt } = await page.evaluate(() => {
      const w = window as unknown as {
        handedOut: { at: number; expiresAt: number }[]
        refreshedAt: { at: number; previousExpiresAt: number }[]
      }
      return { handedOut: w.handedOut, refreshedAt: w.refreshedAt }
    })
    console.info(
      `[figures] 1 tab, ${IDLE_MS / 1000} s idle (${LIFETIME_SECONDS}-s tokens): ${counted} refresh requests`,
    )
    expect(counted).toBeGreaterThanOrEqual(3)
    expect(counted).toBeLessThanOrEqual(4)
    expect(refreshedAt).toHaveLength(counted)
    for (const refresh of refreshedAt) expect(refresh.at).toBeLessThan(refresh.previousExpiresAt)
    expect(handedOut.length).toBeGreaterThan(100)
    for (const token of handedOut) expect(token.expiresAt).toBeGreaterThan(token.at)
    expect(await snapshotOf(page)).toMatchObject({ status: 'signed-in', error: null })
    expect(await userinfoStatus(page, provider.issuer)).toBe(200)
  })

  it.concurrent(
    'three tabs share one refresh per lifetime, one refresh for a burst after expiry, and sign out together',
    async ({ expect }) => {
      const { provider, context, tokenStatuses, refreshes } = await bench()
      const first = await openTab(context, `${app.origin}/`)
      await signInFrom(first, app.origin)
      const tabs = [first, await openTab(context, `${app.origin}/`), await openTab(context, `${app.origin}/`)]
      for (const tab of tabs) expect(await snapshotOf(tab)).toMatchObject({ status: 'signed-in', sub: 'alice' })
      provider.resetRequests()

      await wait(IDLE_MS)
      const idleRefreshes = refreshes()
      console.info(
        `[figures] 3 tabs, ${IDLE_MS / 1000} s idle (${LIFETIME_SECONDS}-s tokens): ${idleRefreshes} refresh requests in total`,
      )
      expect(idleRefreshes).toBeGreaterThanOrEqual(3)
      expect(idleRefreshes).toBeLessThanOrEqual(4)
      const tokens = await Promise.all(tabs.map((tab) => tab.evaluate(() => window.auth.getAccessToken())))
      expect(new Set(tokens).size).toBe(1)

      // The burst: the tabs are closed, the token expires, and three tabs come back at once
      // (a restored window), each asking for a token as soon as it has loaded.
      await Promise.all(tabs.map((tab) => tab.close()))
      await wait(LIFETIME_SECONDS * 1000 + 1000)
      provider.resetRequests()
      const restored = await Promise.all([0, 1, 2].map(() => context.newTab()))
      const burst = await Promise.all(
        restored.map(async (tab) => {
          await tab.goto(`${app.origin}/`)
          return tab.evaluate(async () => {
            await window.appReady
            return Promise.all(Array.from({ length: 100 }, () => window.auth.getAccessToken()))
          })
        }),
      )
      console.info(`[figures] 3 restored tabs x 100 getAccessToken() after expiry: ${refreshes()} refresh request(s)`)
      expect(refreshes()).toBe(1)
      expect(new Set(burst.flat()).size).toBe(1)
      expect(tokenStatuses.filter((status) => status !== 200)).toEqual([])
      // As the provider answered them (the refresh worker's requests are not the page's):
      // not one invalid_grant.
      const refused = provider.requests.filter((request) => request.grantType !== undefined && request.status !== 200)
      expect(refused).toEqual([])
      for (const tab of restored) {
        expect(await snapshotOf(tab)).toMatchObject({ status: 'signed-in', sub: 'alice', error: null })
        expect(await userinfoStatus(tab, provider.issuer)).toBe(200)
      }

      await restored[0]!.evaluate(() => window.auth.signOut({ redirect: false }))
      await expect
        .poll(() => Promise.all(restored.map((tab) => snapshotOf(tab).then((s) => s.reason))))
        .toEqual(['signed-out', 'other-tab', 'other-tab'])
      for (const tab of restored) expect(await snapshotOf(tab)).toMatchObject({ status: 'signed-out' })
    },
  )
})

// @vitest-environment node
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  createAuthClient,
  createMemoryStore,
  isAuthError,
  type AuthClient,
  type AuthEnvironment,
  type KeyValueStore,
} from '../../src/index.js'
import { createFakeClock, type FakeClock } from '../support/fake-clock.js'
import { createFakeTabs, type FakeTabs } from '../support/fake-tabs.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { APP, appConfig } from '../support/world.js'

const LIFETIME_MS = 15_000

/** One request a tab sent and how it was answered. */
interface Exchange {
  url: string
  at: number
  grantType: string | undefined
  status: number | 'failed'
}

/** A tab's `fetch`: real HTTP to the provider, every exchange recorded. */
function createNetwork(clock: FakeClock) {
  const exchanges: Exchange[] = []
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const body = init?.body instanceof URLSearchParams || typeof init?.body === 'string' ? init.body : ''
    const exchange: Exchange = {
      url: input instanceof Request ? input.url : String(input),
      at: clock.now(),
      grantType: new URLSearchParams(body).get('grant_type') ?? undefined,
      status: 'failed',
    }
    exchanges.push(exchange)
    const response = await globalThis.fetch(input, init)
    exchange.status = response.status
    return response
  }
  return { fetch, exchanges, refreshes: () => exchanges.filter((exchange) => exchange.grantType === 'refresh_token') }
}

let provider: TestProvider
let userinfoEndpoint: string
let clock: FakeClock
let browser: FakeTabs
let store: KeyValueStore
const clients: AuthClient[] = []

beforeAll(async () => {
  provider = await startTestProvider({
    profile: 'strict',
    accessTokenTtlSeconds: LIFETIME_MS / 1000,
    redirectUris: [`${APP}/callback`],
  })
  const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as {
    userinfo_endpoint: string
  }
  userinfoEndpoint = discovery.userinfo_endpoint
})
afterAll(() => provider.close())

beforeEach(() => {
  browser = createFakeTabs()
  clock = createFakeClock(Date.now(), { settle: () => browser.idle() })
  store = createMemoryStore()
})
afterEach(() => {
  for (const client of clients.splice(0)) client.dispose()
})

/** A tab of the same app in the same browser: shared store, locks, channels and clock; its own network. */
function openTab(overrides: Partial<AuthEnvironment> = {}) {
  const network = createNetwork(clock)
  const auth = createAuthClient(appConfig(provider), {
    store,
    environment: {
      now: clock.now,
      setTimeout: clock.setTimeout,
      clearTimeout: clock.clearTimeout,
      fetch: network.fetch,
      ...browser.environment(),
      currentUrl: () => `${APP}/orders`,
      replaceUrl: () => {},
      navigate: () => {},
      ...overrides,
    },
  })
  clients.push(auth)
  return { auth, network }
}

type Tab = ReturnType<typeof openTab>

async function openTabs(count: number): Promise<Tab[]> {
  const tabs = Array.from({ length: count }, () => openTab())
  await Promise.all(tabs.map((tab) => tab.auth.ready()))
  return tabs
}

async function signIn(auth: AuthClient): Promise<void> {
  const callbackUrl = await provider.authorize(await auth.createSignInUrl({ returnTo: '/orders' }))
  await auth.handleRedirectCallback(callbackUrl)
  expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice' } })
}

const allExchanges = (tabs: Tab[]) => tabs.flatMap((tab) => tab.network.exchanges)
const allRefreshes = (tabs: Tab[]) => tabs.flatMap((tab) => tab.network.refreshes()).sort((a, b) => a.at - b.at)

describe('three tabs of one browser', () => {
  it('a sign-in in one tab signs the other tabs in, without a request of their own', async () => {
    const [first, second, third] = await openTabs(3)
    for (const tab of [first!, second!, third!])
      expect(tab.auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: null })

    await signIn(first!.auth)
    await browser.idle()
    const token = await first!.auth.getAccessToken()
    for (const tab of [second!, third!]) {
      expect(tab.auth.getSnapshot()).toEqual(first!.auth.getSnapshot())
      expect(await tab.auth.getAccessToken()).toBe(token)
      expect(tab.network.exchanges).toEqual([])
    }
  })

  it('idle over three token lifetimes, refresh once per token in all (not once per tab) and never meet invalid_grant', async () => {
    const tabs = await openTabs(3)
    await signIn(tabs[0]!.auth)
    await browser.idle()
    const signedInAt = clock.now()
    provider.resetRequests()

    while (clock.now() < signedInAt + 3 * LIFETIME_MS) await clock.advance(250)

    // Refreshed at three quarters of its life, each 15-s token lives 11.25 s at most: four tokens
    // reach their refresh point in 45 s, three of them within the first three refresh periods.
    const refreshes = allRefreshes(tabs)
    expect(refreshes).toHaveLength(4)
    expect(refreshes.filter((refresh) => refresh.at <= signedInAt + 33_750)).toHaveLength(3)
    expect(provider.countRequests({ grantType: 'refresh_token' })).toBe(4)
    expect(allExchanges(tabs).filter((exchange) => exchange.status !== 200)).toEqual([])
    let previous = signedInAt
    for (const refresh of refreshes) {
      expect(refresh.at - previous).toBeGreaterThanOrEqual(LIFETIME_MS - 4_500)
      expect(refresh.at - previous).toBeLessThanOrEqual(LIFETIME_MS - 3_750)
      previous = refresh.at
    }

    const tokens = await Promise.all(tabs.map((tab) => tab.auth.getAccessToken()))
    expect(new Set(tokens).size).toBe(1)
    for (const tab of tabs) {
      expect(tab.auth.getSnapshot()).toMatchObject({
        status: 'signed-in',
        error: null,
        expiresAt: previous + LIFETIME_MS,
      })
    }
    expect((await tabs[2]!.auth.fetch(userinfoEndpoint)).status).toBe(200)
    expect(
      allExchanges(tabs).filter((exchange) => exchange.grantType !== undefined && exchange.status !== 200),
    ).toEqual([])
  })

  it('asking for a token at expiry at the same moment, make exactly one refresh request and share its token', async () => {
    const tabs = await openTabs(3)
    await signIn(tabs[0]!.auth)
    await browser.idle()
    const old = await tabs[0]!.auth.getAccessToken()
    provider.resetRequests()

    clock.jump(tabs[0]!.auth.getSnapshot().expiresAt! - clock.now())
    const tokens = await Promise.all(tabs.map((tab) => tab.auth.getAccessToken()))

    expect(new Set(tokens).size).toBe(1)
    expect(tokens[0]).not.toBe(old)
    expect(allRefreshes(tabs)).toHaveLength(1)
    expect(provider.countRequests({ grantType: 'refresh_token' })).toBe(1)
    await browser.idle()
    for (const tab of tabs) {
      expect(tab.auth.getSnapshot()).toMatchObject({
        status: 'signed-in',
        error: null,
        expiresAt: clock.now() + LIFETIME_MS,
      })
      const userinfo = await tab.auth.fetch(userinfoEndpoint)
      expect(userinfo.status).toBe(200)
      expect(await userinfo.json()).toMatchObject({ sub: 'alice' })
    }
    expect(allExchanges(tabs).filter((exchange) => exchange.status !== 200)).toEqual([])
  })

  it('a sign-out in one tab signs the other tabs out with reason other-tab', async () => {
    const [first, second, third] = await openTabs(3)
    await signIn(first!.auth)
    await browser.idle()

    await first!.auth.signOut()
    await browser.idle()
    expect(first!.auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'signed-out' })
    for (const tab of [second!, third!]) {
      expect(tab.auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'other-tab', user: null })
      expect(isAuthError(await tab.auth.getAccessToken().catch((error: unknown) => error), 'not_signed_in')).toBe(true)
      expect(tab.network.exchanges).toEqual([])
    }
    expect(await store.get(`session:${provider.issuer}|${provider.clientId}`)).toBeUndefined()
  })
})

describe('a browser without Web Locks and BroadcastChannel', () => {
  it('still signs a single tab in and refreshes it', async () => {
    const { auth, network } = openTab({ locks: undefined, openChannel: () => undefined })
    await auth.ready()
    await signIn(auth)
    const old = await auth.getAccessToken()

    clock.jump(auth.getSnapshot().expiresAt! - clock.now())
    const renewed = await auth.getAccessToken()
    expect(renewed).not.toBe(old)
    expect(network.refreshes()).toHaveLength(1)

    // The proactive timer works without a lock to wait for too.
    const { expiresAt } = auth.getSnapshot()
    await clock.advance(auth.nextRefreshAt()! - clock.now())
    await vi.waitFor(() => expect(auth.getSnapshot().expiresAt).not.toBe(expiresAt))
    expect(network.refreshes()).toHaveLength(2)
    expect(await auth.getAccessToken()).not.toBe(renewed)

    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: null })
    expect(network.exchanges.filter((exchange) => exchange.status !== 200)).toEqual([])
    expect((await auth.fetch(userinfoEndpoint)).status).toBe(200)
  })
})

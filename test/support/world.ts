/**
 * Tabs of an app in one in-process browser, for client tests against the real provider: a shared
 * store, Web Locks and BroadcastChannels (fake-tabs), a fake wall clock, and a recording `fetch`
 * per tab that can answer in the provider's place.
 *
 * Call `disposeOpenTabs()` after each test (`afterEach(disposeOpenTabs)`): every tab opened here is
 * disposed then.
 */
import { expect } from 'vitest'
import {
  createAuthClient,
  createMemoryStore,
  type AuthClient,
  type AuthConfig,
  type AuthEnvironment,
  type AuthState,
  type KeyValueStore,
} from '../../src/index.js'
import { noteCallback, noteError, noteRequestHeaders, noteTokenExchange, watchErrors } from './error-collector.js'
import { createFakeClock, type FakeClock } from './fake-clock.js'
import { createFakeTabs, type FakeTabs } from './fake-tabs.js'
import type { TestProvider } from './provider.js'

/** The app's origin; the provider fixture registers `${APP}/callback` and `${APP}/`. */
export const APP = 'http://127.0.0.1:5173'

/** One request the tab sent, as the tab's network saw it. */
export interface Exchange {
  url: string
  /** Fake-clock time the request left, epoch ms. */
  at: number
  grantType: string | undefined
  refreshToken: string | undefined
  /** The RFC 8707 `resource` a token request asked for. */
  resource: string | undefined
  status: number | 'failed'
  /** For a successful token response: what the provider issued. */
  issued?: { accessToken: string; expiresInSeconds: number }
}

/**
 * Answers a request instead of the provider; `undefined` lets it through. `forward()` sends the
 * request to the provider as it is and resolves its answer, for interceptors that change it.
 */
export type Interceptor = (request: {
  url: string
  params: URLSearchParams
  headers: Headers
  forward(): Promise<Response>
}) => Promise<Response | undefined> | Response | undefined

/**
 * The tab's `fetch`: real HTTP to the provider, every exchange recorded, optionally intercepted.
 * The tokens, codes and proofs it sees are noted for the error collector.
 */
export function createNetwork(clock: Pick<FakeClock, 'now'>) {
  const exchanges: Exchange[] = []
  let intercept: Interceptor = () => undefined
  let inFlight = 0
  const onQuiet: Array<() => void> = []
  const fetch: typeof globalThis.fetch = async (input, init) => {
    inFlight++
    try {
      return await send(input, init)
    } finally {
      if (--inFlight === 0) for (const resolve of onQuiet.splice(0)) resolve()
    }
  }
  const send: typeof globalThis.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input)
    const params = new URLSearchParams(
      init?.body instanceof URLSearchParams || typeof init?.body === 'string' ? init.body : '',
    )
    const exchange: Exchange = {
      url,
      at: clock.now(),
      grantType: params.get('grant_type') ?? undefined,
      refreshToken: params.get('refresh_token') ?? undefined,
      resource: params.get('resource') ?? undefined,
      status: 'failed',
    }
    exchanges.push(exchange)
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined))
    noteRequestHeaders(headers)
    const forward = async () => noteTokens(params, await globalThis.fetch(input, init))
    const answered = await intercept({ url, params, headers, forward })
    const response = answered ? await noteTokens(params, answered) : await forward()
    exchange.status = response.status
    if (exchange.grantType !== undefined && response.ok && /json/.test(response.headers.get('content-type') ?? '')) {
      const body = (await response.clone().json()) as { access_token?: string; expires_in?: number }
      if (typeof body.access_token === 'string') {
        exchange.issued = { accessToken: body.access_token, expiresInSeconds: body.expires_in ?? NaN }
      }
    }
    return response
  }
  return {
    fetch,
    exchanges,
    intercept(next: Interceptor) {
      intercept = next
    },
    tokenRequests: (grantType?: string) =>
      exchanges.filter((e) => e.grantType !== undefined && (grantType === undefined || e.grantType === grantType)),
    /** Resolves once no request of this tab is waiting for its answer. */
    quiet: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => onQuiet.push(resolve))),
  }
}

export type Network = ReturnType<typeof createNetwork>

/** Notes the credentials of a request and of its answer; resolves the answer. */
async function noteTokens(params: URLSearchParams, response: Response): Promise<Response> {
  noteTokenExchange(params, await jsonOf(response))
  return response
}

/** The JSON body of `response`, read from a copy; `undefined` when it is not JSON. */
async function jsonOf(response: Response): Promise<unknown> {
  if (!/json/.test(response.headers.get('content-type') ?? '')) return undefined
  try {
    return await response.clone().json()
  } catch {
    return undefined
  }
}

/** A store that counts how often the client reaches it. */
export function countingStore(inner: KeyValueStore = createMemoryStore()) {
  let calls = 0
  const store: KeyValueStore = {
    get: (key) => (calls++, inner.get(key)),
    set: (key, value) => (calls++, inner.set(key, value)),
    del: (key) => (calls++, inner.del(key)),
    update: (key, updater) => (calls++, inner.update(key, updater)),
    keys: () => (calls++, inner.keys()),
  }
  return { store, calls: () => calls, reset: () => void (calls = 0) }
}

const clients: AuthClient[] = []

/** Disposes every tab `openTab` opened since the last call. */
export function disposeOpenTabs(): void {
  for (const client of clients.splice(0)) client.dispose()
}

export interface World {
  clock: FakeClock
  browser: FakeTabs
  store: KeyValueStore
}

/** A fresh browser with one shared store and a clock that settles the browser's locks between timers. */
export function createWorld(store: KeyValueStore = createMemoryStore()): World {
  const browser = createFakeTabs()
  const clock = createFakeClock(Date.now(), { settle: () => browser.idle() })
  return { clock, browser, store }
}

/** The app's configuration against `provider`, with `config` added. */
export function appConfig(provider: TestProvider, config: Partial<AuthConfig> = {}): AuthConfig {
  return {
    issuer: provider.issuer,
    clientId: provider.clientId,
    redirectUri: `${APP}/callback`,
    postLogoutRedirectUri: `${APP}/`,
    // The tests call the provider's userinfo endpoint as "the API".
    apiOrigins: [new URL(provider.issuer).origin],
    ...config,
  }
}

/**
 * A tab of the app: a client on the world's clock, locks and store, with its own network.
 * `environment` replaces parts of the tab's environment, `config` adds to the app's configuration.
 */
export function openTab(
  provider: TestProvider,
  world: World,
  environment: Partial<AuthEnvironment> = {},
  config: Partial<AuthConfig> = {},
) {
  const network = createNetwork(world.clock)
  let address = `${APP}/orders`
  const auth = createAuthClient(appConfig(provider, config), {
    store: world.store,
    environment: {
      now: world.clock.now,
      setTimeout: world.clock.setTimeout,
      clearTimeout: world.clock.clearTimeout,
      fetch: network.fetch,
      ...world.browser.environment(),
      currentUrl: () => address,
      replaceUrl: (url) => void (address = url),
      navigate: () => {},
      ...environment,
    },
  })
  clients.push(auth)
  watchErrors(auth)
  return { auth, network }
}

export type Tab = ReturnType<typeof openTab>

/**
 * A page of the app on the browser's default store (IndexedDB, which a refresh worker shares), the
 * world's clock, locks and channels, with a network of its own; `environment` adds the page's host
 * hooks (where refreshes may run) and replaces parts of the rest. `disposeOpenTabs` closes it.
 */
export function openAppPage(world: World, config: AuthConfig, environment: Partial<AuthEnvironment>): Tab {
  const network = createNetwork(world.clock)
  const auth = createAuthClient(config, {
    environment: {
      now: world.clock.now,
      setTimeout: world.clock.setTimeout,
      clearTimeout: world.clock.clearTimeout,
      random: () => 0.5,
      fetch: network.fetch,
      ...world.browser.environment(),
      currentUrl: () => `${APP}/orders`,
      replaceUrl: () => {},
      navigate: () => {},
      ...environment,
    },
  })
  clients.push(auth)
  watchErrors(auth)
  return { auth, network }
}

/** The whole sign-in: authorize URL → the provider's auto-approve interaction → callback. */
export async function signIn(provider: TestProvider, auth: AuthClient): Promise<void> {
  const callbackUrl = noteCallback(await provider.authorize(await auth.createSignInUrl({ returnTo: '/orders' })))
  await auth.handleRedirectCallback(callbackUrl)
  expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice' }, error: null })
}

export function signedIn(auth: AuthClient): Extract<AuthState, { status: 'signed-in' }> {
  const state = auth.getSnapshot()
  if (state.status !== 'signed-in') throw new Error(`expected a signed-in snapshot, got ${JSON.stringify(state)}`)
  return state
}

/** Every status the client publishes from now on. */
export function recordStatuses(auth: AuthClient): AuthState['status'][] {
  const statuses: AuthState['status'][] = []
  auth.subscribe(() => statuses.push(auth.getSnapshot().status))
  return statuses
}

/** The store key of the session. */
export const sessionKey = (provider: TestProvider) => `session:${provider.issuer}|${provider.clientId}`

/** The parts of a stored session record (0.1.0 format) the tests read. */
export interface StoredSession {
  tokens: { accessToken: string; refreshToken?: string; expiresAt: number; issuedAt: number }
  claims: { sub: string }
}

export async function userinfoEndpoint(provider: TestProvider): Promise<string> {
  const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as {
    userinfo_endpoint: string
  }
  return discovery.userinfo_endpoint
}

/** What `promise` rejected with; an Error saying so when it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => new Error(`expected a rejection, got ${String(value)}`),
    (reason: unknown) => noteError(reason),
  )
}

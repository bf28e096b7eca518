/**
 * `spa-auth/testing`: a real OpenID Provider in process, for an app's own tests (happy-dom, jsdom).
 *
 * `createTestProvider()` answers discovery, JWKS, authorize, token, userinfo, revocation and
 * end-session through a `fetch` function — no server, no port, no network — with ID tokens signed
 * by a WebCrypto key of its own. `provider.createClient()` is a real `createAuthClient` wired to it,
 * in a tab of an in-memory browser (store, Web Locks, BroadcastChannels shared by every tab). The
 * client validates every token exactly as it does against any provider: nothing is bypassed.
 *
 * Built over the public API of `spa-auth` only, like the React and Vue adapters.
 *
 * Loading this module under Vitest's jsdom environment makes the global `Uint8Array` and
 * `ArrayBuffer` those WebCrypto and `TextEncoder` return (jsdom puts its own on the globals, and
 * the protocol's `instanceof` checks then fail), so no setup file is needed. Where the globals
 * are read-only, `createTestProvider()` throws an `invalid_config` AuthError naming the one-line
 * fix. Nothing of this is in the library itself.
 */
import {
  AuthError,
  createAuthClient,
  createMemoryStore,
  type AuthClient,
  type AuthClientOptions,
  type AuthConfig,
  type KeyValueStore,
  type SignInOptions,
  type SignInResult,
} from './index.js'
import { createBrowser, followSignIns, type Tab } from './testing/browser.js'
import { createTestControls, type TestControls } from './testing/controls.js'
import type { ProviderRequest } from './testing/faults.js'
import type { TestUser } from './testing/grants.js'
import type { SigningAlgorithm } from './testing/jws.js'
import type { ApiHandler, ProviderEndpoints, ProviderSettings } from './testing/metadata.js'
import { alignTypedArrays } from './testing/realms.js'
import { createServer } from './testing/server.js'
import { createSignInFlow, type SignedInResult } from './testing/sign-in.js'

export type { TestUser } from './testing/grants.js'
export type { SigningAlgorithm } from './testing/jws.js'
export type { AccessTokenInfo } from './testing/grants.js'
export type { TestControls } from './testing/controls.js'
export type { ProviderFailure, ProviderRequest } from './testing/faults.js'
export type { ApiHandler, ProviderEndpoint, ProviderEndpoints } from './testing/metadata.js'
export type { SignedInResult } from './testing/sign-in.js'

/** Options of {@link createTestProvider}; every one has a default. */
export interface TestProviderOptions {
  /** The issuer identifier. Default `'https://auth.test'` (HTTPS, so no insecure-request flag is needed). */
  issuer?: string
  /** The registered public client. Default `'test-app'`. */
  clientId?: string
  /**
   * The address every tab opens at; the redirect URI is `/callback` on its origin and the post-logout
   * redirect URI is its origin's `/`. Default `'http://localhost:3000/'` (what happy-dom and jsdom use).
   */
  appUrl?: string
  /** More redirect URIs the client may use (besides `<appUrl origin>/callback`). */
  redirectUris?: string[]
  /** More post-logout redirect URIs the client may use (besides `<appUrl origin>/`). */
  postLogoutRedirectUris?: string[]
  /** Access token lifetime (`expires_in`). Default 3600. */
  accessTokenTtlSeconds?: number
  /** ID token lifetime (`exp − iat`). Default 3600. */
  idTokenTtlSeconds?: number
  /** Refresh token lifetime. Default 14 days. */
  refreshTokenTtlSeconds?: number
  /**
   * Issue a new refresh token on every refresh; presenting a spent one revokes the grant (reuse
   * detection), as oidc-provider does for public clients. Default `true`; `false` is Authing's way.
   */
  rotateRefreshTokens?: boolean
  /**
   * DPoP-bound tokens (RFC 9449): clients are created with `dpop: true` and the provider refuses
   * token requests without a proof. Default `false` (proofs are still accepted and checked when sent).
   */
  dpop?: boolean
  /** The ID token signing algorithm. Default `'RS256'`. */
  signingAlg?: SigningAlgorithm
  /** The browser's storage, shared by every tab. Default: a new `createMemoryStore()`. */
  store?: KeyValueStore
  /**
   * Answers requests to any origin but the issuer's (the app's own API, `auth.fetch`), with the
   * access token already checked. Without it such requests fail like an unreachable host.
   */
  api?: ApiHandler
}

/** An OpenID Provider in process and the browser its clients run in. */
export interface TestProvider extends TestControls {
  readonly issuer: string
  readonly clientId: string
  /** The endpoint URLs, as discovery advertises them. */
  readonly endpoints: ProviderEndpoints
  /** The `AuthConfig` of a client of this provider: `createAuthClient(provider.config, provider.clientOptions)`. */
  readonly config: AuthConfig
  /**
   * Client options for an app that creates its client itself (at module level, or through
   * `<AuthProvider config options>` / `createAuthPlugin(config, options)`): the browser's store and
   * the environment of its first tab (the provider's `fetch`, in-memory locks and channels, recorded
   * navigation, the browser's clock).
   */
  readonly clientOptions: AuthClientOptions
  /** The browser's storage, shared by every tab. */
  readonly store: KeyValueStore
  /** The provider's `fetch`: answers the issuer's origin (and `api`'s); anything else fails like a network error. */
  readonly fetch: typeof fetch
  /** Every request the clients (or the test) sent to the provider, oldest first. */
  readonly requests: readonly ProviderRequest[]
  /** Every URL a tab navigated to (authorize, end-session), oldest first; navigation is recorded, not performed. */
  readonly navigations: readonly string[]
  /** The browser's (and the provider's) clock, epoch ms. */
  now(): number
  /**
   * A real `createAuthClient` in a new tab of this browser. `overrides` change its `AuthConfig`;
   * `options.url` is the tab's address (default `appUrl`).
   */
  createClient(overrides?: Partial<AuthConfig>, options?: { url?: string }): AuthClient
  /**
   * Signs `user` in on `client` through the real code flow: the client's authorization request, the
   * provider's redirect with a code, `handleRedirectCallback`, the token exchange, the validated
   * ID token. Resolves what `handleRedirectCallback` resolves.
   */
  signIn(client: AuthClient, user: TestUser, options?: SignInOptions): Promise<SignedInResult>
  /**
   * Completes the sign-in `client` started with `signIn()` (its tab navigated to the provider):
   * `user` signs in, the tab comes back to the redirect URI, the callback is handled. A `signIn()`
   * still on its way there (loading its code, discovery) is waited for.
   *
   * @throws Error when no sign-in is waiting: for a client `createClient()` made, as soon as the
   *   clients are idle with none of its `signIn()` calls in flight; for a client made elsewhere
   *   (from `config` and `clientOptions`), whose calls the kit does not see, after about 10 s.
   */
  completeSignIn(client: AuthClient, user: TestUser): Promise<SignedInResult>
  /** Like {@link completeSignIn}, but the user refuses: the callback carries `error` (default `access_denied`). */
  refuseSignIn(client: AuthClient, error?: string): Promise<SignInResult>
}

const DEFAULT_APP_URL = 'http://localhost:3000/'

/** Set once, when the kit loads: what keeps the typed arrays apart, if anything (see the module's header). */
const typedArraysApart = alignTypedArrays()

/**
 * Creates an OpenID Provider in process and an in-memory browser for its clients. Synchronous; keys
 * are made on first use.
 *
 * @throws AuthError `invalid_config` where the test environment's typed arrays are not the
 *   platform's and are read-only (the message names the one-line fix).
 */
export function createTestProvider(options: TestProviderOptions = {}): TestProvider {
  if (typedArraysApart !== undefined) throw new AuthError('invalid_config', typedArraysApart)
  const appUrl = new URL(options.appUrl ?? DEFAULT_APP_URL).href
  const server = createServer(resolveSettings(options, appUrl), () => browser.clock.now())
  const browser = createBrowser(server.fetch)
  const store = options.store ?? createMemoryStore()
  const { issuer, clientId, redirectUris, postLogoutRedirectUris } = server.settings
  const config: AuthConfig = {
    issuer,
    clientId,
    redirectUri: redirectUris[0]!,
    postLogoutRedirectUri: postLogoutRedirectUris[0]!,
    ...(options.dpop ? { dpop: true } : {}),
  }
  const firstTab = browser.openTab(appUrl)
  const tabs = new WeakMap<AuthClient, Tab>()
  const clients = new Set<AuthClient>()

  function createClient(overrides: Partial<AuthConfig> = {}, tabOptions: { url?: string } = {}): AuthClient {
    const tab = browser.openTab(tabOptions.url ?? appUrl)
    const client = createAuthClient({ ...config, ...overrides }, { store, environment: tab.environment })
    followSignIns(client, tab)
    tabs.set(client, tab)
    clients.add(client)
    return client
  }

  const controls = createTestControls({ server, browser, clients, createClient })
  return {
    ...controls,
    ...createSignInFlow({ server, browser, tabs, idle: controls.idle }),
    issuer,
    clientId,
    endpoints: server.endpoints,
    config,
    clientOptions: { store, environment: firstTab.environment },
    store,
    fetch: (input, init) => server.fetch(input, init, appUrl),
    requests: server.requests,
    get navigations() {
      return browser.navigations.map((navigation) => navigation.url)
    },
    now: () => browser.clock.now(),
    createClient,
  }
}

/** The provider's settings: `options` with their defaults, the redirect URIs derived from `appUrl`. */
function resolveSettings(options: TestProviderOptions, appUrl: string): ProviderSettings {
  return {
    issuer: options.issuer ?? 'https://auth.test',
    clientId: options.clientId ?? 'test-app',
    redirectUris: [new URL('/callback', appUrl).href, ...(options.redirectUris ?? [])],
    postLogoutRedirectUris: [new URL('/', appUrl).href, ...(options.postLogoutRedirectUris ?? [])],
    accessTokenTtlMs: seconds(options.accessTokenTtlSeconds, 3600, 'accessTokenTtlSeconds') * 1000,
    idTokenTtlMs: seconds(options.idTokenTtlSeconds, 3600, 'idTokenTtlSeconds') * 1000,
    refreshTokenTtlMs: seconds(options.refreshTokenTtlSeconds, 14 * 86_400, 'refreshTokenTtlSeconds') * 1000,
    rotateRefreshTokens: options.rotateRefreshTokens ?? true,
    requireDpop: options.dpop === true,
    signingAlg: options.signingAlg ?? 'RS256',
    api: options.api,
  }
}

function seconds(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of seconds.`)
  return value
}

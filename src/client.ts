import type { ApiFetch } from './api/api-fetch.js'
import type { SignInOptions } from './protocol/authorize.js'
import { isCallbackUrl } from './protocol/callback-url.js'
import { resolveConfig, type AuthConfig } from './protocol/config.js'
import { createBrowserEnvironment, type AuthEnvironment } from './platform/environment.js'
import { AuthError } from './platform/errors.js'
import type { Protocol } from './protocol/provider.js'
import type { AuthState } from './session/machine.js'
import { createSession } from './session/session.js'
import type { SignInFlow, SignInResult } from './sign-in/flow.js'
import type { PopupSignInOptions } from './sign-in/popup.js'
import { createTabSync } from './platform/tab-sync.js'
import type { SessionMessage } from './session/tab-follower.js'
import type { UserClaims } from './protocol/token-set.js'
import type { UserInfo } from './protocol/userinfo.js'
import { openDefaultStore, type KeyValueStore, type StorageKind } from './platform/storage.js'

/** Options of `createAuthClient` for tests and unusual hosts. */
export interface AuthClientOptions {
  /** Where to keep the session. Default: the `spa-auth` IndexedDB database, else memory. */
  store?: KeyValueStore
  /** Overrides parts of the browser environment (time, timers, fetch, locks, channels, navigation). */
  environment?: Partial<AuthEnvironment>
}

/** Options of `signOut`. */
export interface SignOutOptions {
  /** Whether to end the session at the provider too (RP-initiated logout redirect). Default `true`. */
  redirect?: boolean
}

/** Options of `getAccessToken`. */
export interface GetAccessTokenOptions {
  /** Refresh first, even when the token in memory is still valid. Default `false`. */
  forceRefresh?: boolean
  /** The API (an RFC 8707 resource indicator from `apiOrigins`) whose own token to return. */
  resource?: string
}

/** A client for one provider and one application. */
export interface AuthClient {
  getSnapshot(): AuthState
  subscribe(listener: () => void): () => void
  /** Resolves once the stored session is loaded (no network). Always the same promise; never rejects. */
  ready(): Promise<void>
  createSignInUrl(options?: SignInOptions): Promise<string>
  signIn(options?: SignInOptions): Promise<void>
  isRedirectCallback(url?: string): boolean
  handleRedirectCallback(url?: string): Promise<SignInResult>
  /**
   * Opens the provider in a popup (call it from a click) and resolves once signed in; see
   * {@link PopupSignInOptions}. Rejects with `popup_blocked`, `popup_closed`, `popup_timeout`, or
   * what the callback in the popup failed with.
   */
  signInWithPopup(options?: PopupSignInOptions): Promise<{ user: UserClaims }>
  /**
   * A valid access token, refreshed first when it is within the leeway; with `resource`, the token
   * for that API (RFC 8707), obtained with the session's refresh token and kept per resource.
   */
  getAccessToken(options?: GetAccessTokenOptions): Promise<string>
  /** The userinfo endpoint's claims for the signed-in user; rejects with `userinfo_subject_mismatch` when they name another. */
  getUserInfo(): Promise<UserInfo>
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>
  refresh(): Promise<void>
  signOut(options?: SignOutOptions): Promise<void>
  /** When the next background refresh is due (epoch ms), or `undefined` when none is planned. */
  nextRefreshAt(): number | undefined
  /**
   * Where refreshes run: `'worker'`, in the refresh worker that outlives the page, or `'page'`
   * (the browser cannot keep one alive, the store is not IndexedDB, or `refreshIn: 'page'`).
   * Settled once `ready()` resolves.
   */
  readonly refreshIn: 'worker' | 'page'
  dispose(): void
}

/** What a signed-in page does with its client: the actions the React and Vue bindings hand out, bound. */
export type AuthActions = Pick<
  AuthClient,
  'signIn' | 'signInWithPopup' | 'signOut' | 'refresh' | 'getAccessToken' | 'getUserInfo' | 'fetch'
>

/**
 * Creates a client. Nothing is fetched until a sign-in, a callback or a refresh needs the provider.
 *
 * @throws AuthError `invalid_config` or `insecure_issuer` for an unusable configuration.
 */
export function createAuthClient(authConfig: AuthConfig, options: AuthClientOptions = {}): AuthClient {
  const config = resolveConfig(authConfig)
  const env: AuthEnvironment = { ...createBrowserEnvironment(), ...options.environment }
  const opened = options.store
    ? Promise.resolve({ store: options.store, kind: 'custom' as StorageKind })
    : openDefaultStore()
  let protocol: Promise<Protocol> | undefined
  const loadProtocol = () =>
    (protocol ??= Promise.all([opened, import('./protocol/provider.js')]).then(([{ store }, { createProtocol }]) =>
      createProtocol(config, env, store),
    ))
  const tabs = createTabSync<SessionMessage>(env, config.sessionName)
  const session = createSession({ config, authConfig, env, opened, tabs, protocol: loadProtocol })
  // Signing in and calling APIs load their code when first used: a returning visitor's page load
  // needs none of it.
  let flow: Promise<SignInFlow> | undefined
  const signIn = () =>
    (flow ??= import('./sign-in/flow.js').then(({ createSignInFlow }) =>
      createSignInFlow({ config, env, session, tabs, protocol: loadProtocol }),
    ))
  let apiFetch: Promise<ApiFetch> | undefined
  const loadApiFetch = () =>
    (apiFetch ??= import('./api/api-fetch.js').then(({ createApiFetch }) =>
      createApiFetch({ config, env, session, protocol: loadProtocol }),
    ))
  const signInUrl = async (options: SignInOptions = {}) => (await (await signIn()).start(options)).url
  const ready = session.ready.then(() => {
    // A signed-out visitor's next step is a sign-in: its code (no protocol in it) loads in idle time.
    if (session.current() === undefined) env.whenIdle(() => signIn())
  })
  let disposed = false

  /** `action`, or a rejection once the client is disposed. */
  function live<A extends unknown[], R>(action: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return (...args) => (disposed ? Promise.reject(disposedError()) : action(...args))
  }

  return {
    getSnapshot: () => session.snapshots.get(),
    subscribe: (listener) => session.snapshots.subscribe(listener),
    ready: () => ready,
    createSignInUrl: live(signInUrl),
    signIn: live(async (signInOptions?: SignInOptions) => env.navigate(await signInUrl(signInOptions))),
    signInWithPopup(popupOptions = {}) {
      if (disposed) return Promise.reject(disposedError())
      // Before any await: the popup must open in the task of the user's click.
      const popup = env.openPopup(popupOptions.popupFeatures)
      if (popup === undefined) return Promise.reject(popupBlocked())
      return Promise.all([import('./sign-in/popup.js'), signIn()]).then(([{ runPopupSignIn }, started]) =>
        runPopupSignIn({ env, tabs, flow: started, session }, popup, popupOptions),
      )
    },
    isRedirectCallback: (url?: string) => isCallbackUrl(url, config.redirectUri, () => env.currentUrl()),
    handleRedirectCallback: live(async (url?: string) => (await signIn()).handleRedirectCallback(url)),
    // Not async: a valid token in memory goes out without another turn of the event loop.
    getAccessToken: live(({ forceRefresh, resource }: GetAccessTokenOptions = {}) =>
      resource === undefined || config.resources.includes(resource)
        ? session.accessToken({ force: forceRefresh === true, resource })
        : Promise.reject(unrequestedResource(resource)),
    ),
    getUserInfo: live(async () => {
      await session.accessToken({ force: false })
      const record = session.current()
      if (record === undefined) throw new AuthError('not_signed_in', 'Nobody is signed in; call signIn() first.')
      return (await loadProtocol()).userInfo(record)
    }),
    fetch: live(async (input: RequestInfo | URL, init?: RequestInit) => (await loadApiFetch())(input, init)),
    refresh: live(async () => {
      await session.ready
      if (session.current()?.tokens.refreshToken === undefined) {
        throw new AuthError('not_signed_in', 'Nobody is signed in with a refresh token; call signIn() first.')
      }
      await session.accessToken({ force: true })
    }),
    signOut: live(async ({ redirect = true }: SignOutOptions = {}) => {
      const ended = await session.signOut()
      if (!redirect) return
      const url = await (await loadProtocol()).endSessionUrl(ended?.tokens.idToken).catch(() => undefined)
      if (url !== undefined) env.navigate(url)
    }),
    nextRefreshAt: () => session.nextRefreshAt(),
    get refreshIn() {
      return session.refreshIn()
    },
    dispose() {
      disposed = true
      session.dispose()
    },
  }
}

function disposedError(): AuthError {
  return new AuthError('disposed', 'This client was disposed; create a new one.')
}

function popupBlocked(): AuthError {
  return new AuthError(
    'popup_blocked',
    'The browser blocked the sign-in popup. Call signInWithPopup() directly from a click handler, or fall back to signIn() (a redirect).',
  )
}

/**
 * Only what the sign-in asked for: a provider may rotate the refresh token before it refuses an
 * unknown resource (oidc-provider does), and the session would then be lost to reuse detection.
 */
function unrequestedResource(resource: string): AuthError {
  return new AuthError(
    'invalid_config',
    `${resource} is not a resource of apiOrigins, so the sign-in did not ask for it. Map the API's origin to it in apiOrigins.`,
  )
}

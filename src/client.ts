import type { ApiFetch } from './api/api-fetch.js'
import {
  createBrowserEnvironment,
  randomId,
  type AuthEnvironment,
  type HostEnvironment,
} from './platform/environment.js'
import { AuthError, notSignedIn } from './platform/errors.js'
import { createCalls, type Calls } from './platform/calls.js'
import { lazy, type Lazy } from './platform/lazy.js'
import { openDefaultStore, type KeyValueStore, type StorageKind } from './platform/storage.js'
import { createTabSync } from './platform/tab-sync.js'
import type { SignInOptions } from './protocol/authorize.js'
import { isCallbackUrl } from './protocol/callback-url.js'
import { resolveConfig, type AuthConfig, type ResolvedConfig } from './protocol/config.js'
import type { Protocol } from './protocol/provider.js'
import type { UserClaims } from './protocol/token-set.js'
import type { UserInfo } from './protocol/userinfo.js'
import type { AuthState } from './session/machine.js'
import type { SessionMessage } from './session/messages.js'
import { Session } from './session/session.js'
import type { SignInFlow, SignInResult } from './sign-in/flow.js'
import type { PopupSignInOptions } from './sign-in/popup.js'

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
  /** The current snapshot: status, user, expiry, the last background error. A new object on every change. */
  getSnapshot(): AuthState
  /** Calls `listener` after every snapshot change; returns a function that stops it. */
  subscribe(listener: () => void): () => void
  /** Resolves once the stored session is loaded (no network). Always the same promise; never rejects. */
  ready(): Promise<void>
  /** The authorization URL of a new sign-in (PKCE, fresh state and nonce), without leaving the page. */
  createSignInUrl(options?: SignInOptions): Promise<string>
  /** Leaves the page for the provider's sign-in (a redirect); the redirect URI then calls `handleRedirectCallback()`. */
  signIn(options?: SignInOptions): Promise<void>
  /** Whether `url` (default: the page's address; a path is resolved against it) is a sign-in response to handle. */
  isRedirectCallback(url?: string): boolean
  /** Checks the sign-in response in `url` (default: the page's address), exchanges its code once, and signs in. */
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
  /** `fetch` with a fresh access token attached, to the origins in `apiOrigins` only (default: the page's own). */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>
  /** Refreshes the access token now, once for every caller and every tab. */
  refresh(): Promise<void>
  /**
   * Signs out in every tab at once, revokes the refresh token, then ends the session at the provider
   * (a redirect). A `signIn()` asked for meanwhile (a guarded page) waits, and stays put if the page left.
   */
  signOut(options?: SignOutOptions): Promise<void>
  /** When the next background refresh is due (epoch ms), or `undefined` when none is planned. */
  nextRefreshAt(): number | undefined
  /**
   * Where the next refresh runs: `'worker'`, in a SharedWorker the browser keeps alive after the
   * page (Chromium 148+); `'service-worker'`, in the library's service worker, where no SharedWorker
   * outlives its pages (Firefox, Safari); `'page'`, in the page — the browser has neither (an
   * insecure origin, service workers disabled), the store is not IndexedDB, `refreshIn: 'page'` was
   * asked for, or the worker could not be used (its script did not load or register, it did not
   * answer in time, it speaks another version), after which this page refreshes itself for good.
   * Known once `ready()` resolves; it turns to `'page'` when a worker fails.
   */
  readonly refreshIn: 'worker' | 'service-worker' | 'page'
  /** Stops the client: every pending call rejects with `disposed`, popups close, timers clear, nothing more is sent. */
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
  const parts = compose(resolveConfig(authConfig), options)
  const { config, env, session, signInFlow, provider } = parts
  const calls = createCalls()
  const live = calls.live
  const signInUrl = async (signInOptions: SignInOptions = {}) =>
    (await (await signInFlow.get()).start(signInOptions)).url
  // A sign-out's redirect wins: a sign-in asked for on its way (a guarded page that just saw
  // nobody signed in) waits for it, and stays put if the page is leaving. Sent first, it would
  // come straight back signed in, from the provider's session the sign-out had yet to end.
  let leaving = Promise.resolve(false)
  const ready = session.ready.then(() => {
    // A signed-out visitor's next step is a sign-in: its code (no protocol in it) loads in idle time.
    if (session.current() === undefined) env.whenIdle(() => signInFlow.get())
  })
  return {
    getSnapshot: () => session.snapshots.get(),
    subscribe: (listener) => session.snapshots.subscribe(listener),
    ready: () => ready,
    createSignInUrl: live(signInUrl),
    signIn: live(async (signInOptions?: SignInOptions) => {
      if (!(await leaving)) env.navigate(await signInUrl(signInOptions))
    }),
    signInWithPopup: (popupOptions = {}) => calls.ifLive(() => signInWithPopup(parts, calls, popupOptions)),
    isRedirectCallback: (url?: string) => isCallbackUrl(url, config.redirectUri, () => env.currentUrl()),
    handleRedirectCallback: live(async (url?: string) => (await signInFlow.get()).handleRedirectCallback(url)),
    // Not async: a valid token in memory goes out without another turn of the event loop.
    getAccessToken: ({ forceRefresh = false, resource }: GetAccessTokenOptions = {}) =>
      calls.ifLive(() => {
        if (resource !== undefined && !config.resources.includes(resource))
          return Promise.reject(unrequestedResource(resource))
        const token = forceRefresh ? undefined : session.freshToken(resource)
        return token !== undefined
          ? Promise.resolve(token)
          : calls.track(session.accessToken({ force: forceRefresh, resource }))
      }),
    getUserInfo: live(async () => (await provider.get()).userInfo(await credentials(session), session)),
    fetch: live(async (input: RequestInfo | URL, init?: RequestInit) => (await parts.apiFetch.get())(input, init)),
    refresh: live(() => refresh(session)),
    signOut: live(async (signOutOptions?: SignOutOptions) => {
      const signedOut = signOut(parts, signOutOptions)
      leaving = signedOut.catch(() => false)
      await signedOut
    }),
    nextRefreshAt: () => session.nextRefreshAt(),
    get refreshIn() {
      return session.refreshIn()
    },
    dispose() {
      calls.dispose()
      session.dispose()
    },
  }
}

/** The parts of one client: its configuration, environment, store, tab channel, session and lazily loaded code. */
interface Parts {
  config: ResolvedConfig
  env: HostEnvironment
  session: Session
  tabs: ReturnType<typeof createTabSync<SessionMessage>>
  provider: Lazy<Protocol>
  signInFlow: Lazy<SignInFlow>
  apiFetch: Lazy<ApiFetch>
  popup: Lazy<typeof import('./sign-in/popup.js')>
}

/** The composition root: the one place that knows every layer. */
function compose(config: ResolvedConfig, options: AuthClientOptions): Parts {
  // The internal hooks (windows, idle time, the refresh worker) may be set by the library's own tests and testing kit.
  const env = { ...createBrowserEnvironment(), ...options.environment } as HostEnvironment
  const opened = options.store
    ? Promise.resolve({ store: options.store, kind: 'custom' as StorageKind })
    : openDefaultStore()
  const store = opened.then((result) => result.store)
  const tabs = createTabSync<SessionMessage>(env, config.sessionName)
  const provider = lazy(
    () =>
      Promise.all([store, import('./protocol/provider.js')]).then(([kv, { createProtocol }]) =>
        createProtocol(config, env, kv),
      ),
    'the protocol code',
  )
  const session = new Session({
    ...{ config, env, opened, tabs, provider, newGeneration: randomId },
    loadRefresher: (context, { place }) =>
      import('./worker/page.js').then(({ createRefresher }) => createRefresher(context, { place, config, env })),
  })
  const flowDeps = { config, env, session, store, tabs, protocol: () => provider.get() }
  return {
    ...{ config, env, session, tabs, provider },
    signInFlow: lazy(
      () => import('./sign-in/flow.js').then((code) => code.createSignInFlow(flowDeps)),
      'the sign-in code',
    ),
    apiFetch: lazy(
      () => import('./api/api-fetch.js').then((code) => code.createApiFetch(flowDeps)),
      'the auth.fetch code',
    ),
    popup: lazy(() => import('./sign-in/popup.js'), 'the popup code'),
  }
}

/** `signInWithPopup`: the popup opens before any await (in the task of the user's click), then its code loads. */
function signInWithPopup(parts: Parts, calls: Calls, options: PopupSignInOptions): Promise<{ user: UserClaims }> {
  const { env, tabs, session } = parts
  const popup = env.openPopup(options.popupFeatures)
  if (popup === undefined) return Promise.reject(popupBlocked())
  // Both chunks load at once; a failure of the sign-in code reaches the popup's run, which closes it.
  const flow = parts.signInFlow.get()
  flow.catch(() => {})
  const deps = { env, tabs, session, flow: () => flow, signal: calls.signal }
  const run = parts.popup.get().then(
    ({ runPopupSignIn }) => runPopupSignIn(deps, popup, options),
    (error: unknown) => {
      // No blank popup stays open because its code did not load.
      popup.close()
      throw error
    },
  )
  return calls.track(run)
}

/** The signed-in user's credentials, with an access token that is valid now. */
async function credentials(session: Session) {
  await session.accessToken({ force: false })
  const record = session.current()
  if (record === undefined) throw notSignedIn()
  return record
}

async function refresh(session: Session): Promise<void> {
  await session.ready
  if (session.current()?.tokens.refreshToken === undefined) {
    throw notSignedIn('Nobody is signed in with a refresh token')
  }
  await session.accessToken({ force: true })
}

/** Signs out here and everywhere first (no code to wait for), then ends the session at the provider: whether the page left. */
async function signOut(parts: Parts, { redirect = true }: SignOutOptions = {}): Promise<boolean> {
  const ended = await parts.session.signOut()
  if (!redirect) return false
  const url = await parts.provider
    .get()
    .then((provider) => provider.endSessionUrl(ended?.tokens.idToken))
    .catch(() => undefined)
  if (url !== undefined) parts.env.navigate(url)
  return url !== undefined
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

/**
 * `spa-auth/react`: `<AuthProvider>` and `useAuth()` over the public API of `spa-auth`.
 *
 * Thin by design: the snapshot comes from `client.subscribe`/`client.getSnapshot` through
 * `useSyncExternalStore` (tear-free under concurrent rendering), and the actions are the client's.
 * Written without JSX so the package needs no JSX runtime.
 */
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactElement,
  type ReactNode,
} from 'react'
import {
  AuthError,
  createAuthClient,
  isAuthError,
  type AuthClient,
  type AuthClientOptions,
  type AuthConfig,
  type AuthState,
  type SignInOptions,
  type SignOutOptions,
  type PopupSignInOptions,
  type UserInfo,
  type UserClaims,
} from './index.js'

/** What `handleRedirectCallback()` resolved: the path to go back to and the signed-in user. */
export type RedirectCallbackResult = Awaited<ReturnType<AuthClient['handleRedirectCallback']>>

interface AuthProviderBaseProps {
  children?: ReactNode
  /**
   * Called once the redirect callback succeeded. Default: replace the address with `returnTo`
   * (`history.replaceState`). With a router, navigate with it instead (`navigate(returnTo, { replace: true })`).
   * If it throws or its promise rejects, `callbackError` becomes an `invalid_config` AuthError whose
   * `cause` is what it threw; the user stays signed in and the status leaves `loading` regardless.
   */
  onRedirectCallback?: (result: RedirectCallbackResult) => void | Promise<unknown>
}

/**
 * Either an existing `client` (create it once, at module level), or a `config` (and `options`)
 * from which the provider creates its own client on mount and disposes it on unmount. `config` is
 * read once: to switch providers, give `<AuthProvider>` a new `key`.
 */
export type AuthProviderProps = AuthProviderBaseProps &
  (
    | { client: AuthClient; config?: never; options?: never }
    | { config: AuthConfig; options?: AuthClientOptions; client?: never }
  )

/** The client's actions, bound; they wait for the client when the provider is still creating it. */
export interface AuthActions {
  signIn(options?: SignInOptions): Promise<void>
  /** Sign-in in a popup; call it straight from a click handler (see `AuthClient.signInWithPopup`). */
  signInWithPopup(options?: PopupSignInOptions): Promise<{ user: UserClaims }>
  signOut(options?: SignOutOptions): Promise<void>
  refresh(): Promise<void>
  getAccessToken(options?: { forceRefresh?: boolean; resource?: string }): Promise<string>
  getUserInfo(): Promise<UserInfo>
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>
}

/**
 * What `useAuth()` returns: the snapshot (narrow on `status`), the bound actions, the client, and
 * the failure of the redirect callback this provider handled.
 */
export type UseAuthResult = AuthState &
  AuthActions & {
    /** The client; `null` only while a `config` provider creates it (its first render). */
    client: AuthClient | null
    /**
     * Why the redirect callback failed (`callback_replayed`, `state_mismatch`, …), else `null`;
     * `invalid_config` when the app's `onRedirectCallback` threw (the sign-in itself succeeded).
     */
    callbackError: AuthError | null
  }

interface ProviderValue {
  client: AuthClient | null
  actions: AuthActions
  redirectPending: boolean
  callbackError: AuthError | null
}

const AuthContext = createContext<ProviderValue | null>(null)
AuthContext.displayName = 'SpaAuth'

const LOADING: AuthState = { status: 'loading', user: null, expiresAt: null, reason: null, storage: null, error: null }
const noop = () => {}

/**
 * Provides an `AuthClient` to `useAuth()`. When the page is the redirect URI with a sign-in
 * response, exchanges the code once (also under StrictMode's double effects), reports `status:
 * 'loading'` meanwhile, then calls `onRedirectCallback`.
 *
 * Safe to render on a server (`react-dom/server`): rendering touches no browser global, and the
 * address bar is read only in an effect. Until that effect has run — on the server, and in the
 * browser's first render — `useAuth()` reports `status: 'loading'`.
 */
export function AuthProvider(props: AuthProviderProps): ReactElement {
  const owned = useOwnedClient(props.config, props.options)
  const client = props.client ?? owned.client
  const [redirect, setRedirect] = useState<{ client: AuthClient; pending: boolean; error: AuthError | null } | null>(
    null,
  )
  const started = useRef<AuthClient | null>(null)
  const live = useRef(false)
  const onRedirectCallback = useRef(props.onRedirectCallback)

  useEffect(() => {
    live.current = true
    onRedirectCallback.current = props.onRedirectCallback
    return () => void (live.current = false)
  })

  useEffect(() => {
    // StrictMode runs this twice on the same instance: the ref keeps it to one exchange. (The
    // client would also answer a second call for the same URL with the same promise.)
    if (client === null || started.current === client) return
    started.current = client
    // Effects run only in the browser: the one place the address bar is read.
    if (!client.isRedirectCallback()) return setRedirect({ client, pending: false, error: null })
    setRedirect({ client, pending: true, error: null })
    const failed = (error: AuthError) => setRedirect({ client, pending: false, error })
    client.handleRedirectCallback().then(
      (result) => {
        setRedirect({ client, pending: false, error: null })
        if (live.current) callRedirectCallback(onRedirectCallback.current ?? replaceAddress, result, failed)
      },
      (error: unknown) => failed(asAuthError(error)),
    )
  }, [client])

  // Until the effect above has looked at the address bar, a callback may be about to be handled:
  // report loading. Render reads no browser global, so this is also what a server renders, and
  // hydration finds the same markup.
  const redirectPending = client !== null && (redirect?.client === client ? redirect.pending : true)
  const callbackError = redirect?.client === client ? redirect.error : null
  const whenClient = owned.whenClient
  const actions = useMemo<AuthActions>(() => {
    const withClient = <T>(action: (client: AuthClient) => Promise<T>): Promise<T> =>
      client ? action(client) : whenClient.then(action)
    return {
      signIn: (options) => withClient((c) => c.signIn(options)),
      signInWithPopup: (options) => withClient((c) => c.signInWithPopup(options)),
      getUserInfo: () => withClient((c) => c.getUserInfo()),
      signOut: (options) => withClient((c) => c.signOut(options)),
      refresh: () => withClient((c) => c.refresh()),
      getAccessToken: (options) => withClient((c) => c.getAccessToken(options)),
      fetch: (input, init) => withClient((c) => c.fetch(input, init)),
    }
  }, [client, whenClient])
  const value = useMemo<ProviderValue>(
    () => ({ client, actions, redirectPending, callbackError }),
    [client, actions, redirectPending, callbackError],
  )
  return createElement(AuthContext.Provider, { value }, props.children)
}

/**
 * The auth state and actions of the nearest `<AuthProvider>`; re-renders when the snapshot changes.
 *
 * @throws Error when used outside an `<AuthProvider>`.
 */
export function useAuth(): UseAuthResult {
  const context = useContext(AuthContext)
  if (context === null) throw new Error('useAuth() must be called inside <AuthProvider>.')
  const { client, actions, redirectPending, callbackError } = context
  const subscribe = useCallback((listener: () => void) => (client ? client.subscribe(listener) : noop), [client])
  const getSnapshot = useCallback(() => (client ? client.getSnapshot() : LOADING), [client])
  const snapshot = useSyncExternalStore(subscribe, getSnapshot, getSnapshot)
  return useMemo(
    () => ({ ...whileRedirecting(snapshot, redirectPending), ...actions, client, callbackError }),
    [snapshot, redirectPending, actions, client, callbackError],
  )
}

/** A `status: 'loading'` view of `snapshot` while the callback is handled, so no "signed out" flashes. */
function whileRedirecting(snapshot: AuthState, pending: boolean): AuthState {
  if (!pending || snapshot.status === 'loading') return snapshot
  return { ...LOADING, storage: snapshot.storage, error: snapshot.error }
}

/**
 * The client a `config` provider owns: created in an effect (never during render, which React may
 * repeat or discard), kept across StrictMode's simulated unmount/remount, disposed on a real unmount.
 */
function useOwnedClient(config: AuthConfig | undefined, options: AuthClientOptions | undefined) {
  const [deferred] = useState(() => {
    let resolve: (client: AuthClient) => void = noop
    const whenClient = new Promise<AuthClient>((done) => (resolve = done))
    return { whenClient, resolve }
  })
  const [client, setClient] = useState<AuthClient | null>(null)
  const entry = useRef<{ client: AuthClient; disposal?: ReturnType<typeof setTimeout> } | null>(null)

  useEffect(() => {
    if (config === undefined) return
    let current = entry.current
    if (current === null) {
      current = entry.current = { client: createAuthClient(config, options) }
      deferred.resolve(current.client)
      setClient(current.client)
    }
    clearTimeout(current.disposal)
    const mine = current
    return () => {
      // StrictMode remounts right after this cleanup, in the same task: dispose only if nobody did.
      mine.disposal = setTimeout(() => {
        mine.client.dispose()
        if (entry.current === mine) entry.current = null
      })
    }
    // `config` and `options` are read once, on mount (see AuthProviderProps).
  }, [])

  return { client, whenClient: deferred.whenClient }
}

function replaceAddress({ returnTo }: RedirectCallbackResult): void {
  globalThis.history.replaceState(globalThis.history.state, '', returnTo)
}

/**
 * Calls the app's `onRedirectCallback`; what it throws, or what its promise rejects with, is
 * reported as an `invalid_config` AuthError instead of escaping as an unhandled rejection. Its
 * promise is not awaited: a navigation that never settles must not hold the app in `loading`.
 */
function callRedirectCallback(
  callback: (result: RedirectCallbackResult) => unknown,
  result: RedirectCallbackResult,
  failed: (error: AuthError) => void,
): void {
  const report = (cause: unknown) =>
    failed(
      new AuthError(
        'invalid_config',
        "onRedirectCallback failed (see this error's cause). The sign-in itself succeeded and the user is signed in; fix the callback, which usually only navigates to returnTo.",
        { cause },
      ),
    )
  try {
    Promise.resolve(callback(result)).catch(report)
  } catch (cause) {
    report(cause)
  }
}

/** Like the core's own conversion: a failure that is no AuthError is a bug, not the provider's answer. */
function asAuthError(error: unknown): AuthError {
  return isAuthError(error)
    ? error
    : new AuthError('unexpected', `The sign-in failed unexpectedly (${String(error)}); please report it.`, {
        cause: error,
      })
}

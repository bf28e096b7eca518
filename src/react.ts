/**
 * `spa-auth/react`: `<AuthProvider>` and `useAuth()` over the public API of `spa-auth`.
 *
 * Thin by design: the redirect handling is the core's `createRedirectController`, read through
 * `useSyncExternalStore` (tear-free under concurrent rendering), and the actions are the client's.
 * Written without JSX so the package needs no JSX runtime.
 *
 * @packageDocumentation
 */
import {
  createContext,
  createElement,
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
  bindAuthActions,
  createAuthClient,
  createRedirectController,
  type AuthActions,
  type AuthClient,
  type AuthClientOptions,
  type AuthConfig,
  type AuthError,
  type AuthState,
  type RedirectController,
  type RedirectControllerOptions,
  type RedirectSnapshot,
  type SignInResult,
} from './index.js'

/** What `handleRedirectCallback()` resolved: the path to go back to and the signed-in user. */
export type RedirectCallbackResult = SignInResult

/**
 * Either an existing `client` (create it once, at module level), or a `config` (and `options`)
 * from which the provider creates its own client on mount and disposes it on unmount. `config` is
 * read once: to switch providers, give `<AuthProvider>` a new `key`.
 */
export type AuthProviderProps = {
  /** The tree that calls `useAuth()`. */
  children?: ReactNode
  /**
   * Called once the redirect callback succeeded. Default: replace the address with `returnTo`
   * (`history.replaceState`). With a router, navigate with it instead (`navigate(returnTo, { replace: true })`).
   * If it throws or its promise rejects, `callbackError` becomes a `redirect_callback_failed`
   * AuthError whose `cause` is what it threw; the user stays signed in and the status leaves `loading`.
   */
  onRedirectCallback?: (result: RedirectCallbackResult) => void | Promise<unknown>
} & (
  | {
      /** The client to provide: create it once, at module level. */
      client: AuthClient
      config?: never
      options?: never
    }
  | {
      /** The configuration of the client the provider creates on mount (read once). */
      config: AuthConfig
      /** The options of that client (`store`, `environment`). */
      options?: AuthClientOptions
      client?: never
    }
)

/**
 * What `useAuth()` returns: the snapshot (narrow on `status`), the client's actions bound (they
 * wait for the client while a `config` provider creates it), the client, and the failure of the
 * redirect callback this provider handled.
 */
export type UseAuthResult = AuthState &
  AuthActions & {
    /** The client; `null` only while a `config` provider creates it (its first render). */
    client: AuthClient | null
    /**
     * Why the redirect callback failed (`callback_replayed`, `state_mismatch`, …), else `null`;
     * `redirect_callback_failed` when the app's `onRedirectCallback` threw (the sign-in itself succeeded).
     */
    callbackError: AuthError | null
  }

interface ProviderValue {
  client: AuthClient | null
  redirect: RedirectController | null
  actions: AuthActions
}

const AuthContext = createContext<ProviderValue | null>(null)
AuthContext.displayName = 'SpaAuth'

/** What renders while a `config` provider has no client yet: loading, as a server renders it. */
const LOADING: RedirectSnapshot = {
  state: { status: 'loading', user: null, expiresAt: null, reason: null, storage: null, error: null },
  callbackError: null,
}
const NO_CLIENT_YET: Pick<RedirectController, 'getSnapshot' | 'subscribe'> = {
  getSnapshot: () => LOADING,
  subscribe: () => () => {},
}

/**
 * Provides an `AuthClient` to `useAuth()`. When the page is the redirect URI with a sign-in
 * response, exchanges the code once (also under StrictMode's double effects), reports
 * `status: 'loading'` meanwhile, then calls `onRedirectCallback`.
 *
 * Safe to render on a server (`react-dom/server`): rendering touches no browser global, and the
 * address bar is read only in an effect. Until that effect has run — on the server, and in the
 * browser's first render — `useAuth()` reports `status: 'loading'`.
 */
export function AuthProvider(props: AuthProviderProps): ReactElement {
  const owned = useOwnedClient(props.config, props.options)
  const client = props.client ?? owned.client
  const [redirectOptions] = useState<RedirectControllerOptions>({})
  const redirect = useMemo(() => client && createRedirectController(client, redirectOptions), [client, redirectOptions])
  useEffect(() => {
    // Read when the callback completes: the latest prop, not the one of the first render.
    redirectOptions.onRedirectCallback = props.onRedirectCallback
  })
  useEffect(() => {
    if (redirect === null) return
    void redirect.start()
    return () => redirect.stop()
  }, [redirect])

  const actions = useMemo(() => bindAuthActions(client ?? owned.whenClient), [client, owned.whenClient])
  const value = useMemo<ProviderValue>(() => ({ client, redirect, actions }), [client, redirect, actions])
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
  const { client, redirect, actions } = context
  const { subscribe, getSnapshot } = redirect ?? NO_CLIENT_YET
  const { state, callbackError } = useSyncExternalStore(subscribe, getSnapshot, getSnapshot)
  return useMemo(() => ({ ...state, ...actions, client, callbackError }), [state, actions, client, callbackError])
}

/**
 * The client a `config` provider owns: created in an effect (never during render, which React may
 * repeat or discard), kept across StrictMode's simulated unmount/remount, disposed on a real unmount.
 */
function useOwnedClient(config: AuthConfig | undefined, options: AuthClientOptions | undefined) {
  const [deferred] = useState(() => {
    let resolve: (client: AuthClient) => void = () => {}
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

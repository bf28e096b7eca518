/**
 * `spa-auth/vue`: a plugin, a `useAuth()` composable and a vue-router guard over the public API
 * of `spa-auth`. The snapshot lives in one `shallowRef`, replaced (never mutated) on every change.
 * vue-router is not a dependency: the guard only reads the route fields it needs.
 */
import { computed, inject, shallowRef, type App, type ComputedRef, type InjectionKey, type ShallowRef } from 'vue'
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

/** Options of {@link createAuthPlugin}. */
export interface AuthPluginOptions {
  /**
   * Called once the redirect callback succeeded. Default: `router.replace(returnTo)` when the app
   * uses vue-router (`app.config.globalProperties.$router`), else `history.replaceState`.
   * If it throws or its promise rejects (the default's `router.replace` included), `callbackError`
   * becomes an `invalid_config` AuthError whose `cause` is what it threw; the user stays signed in
   * and the status leaves `loading` regardless. Its promise is not awaited (the router's guard may
   * itself be waiting for `settled()`).
   */
  onRedirectCallback?: (result: RedirectCallbackResult, app: App | undefined) => void | Promise<unknown>
}

/** What `useAuth()` returns; refs for the template, the client's actions bound. */
export interface UseAuthResult {
  /** The snapshot; `status: 'loading'` while a redirect callback is handled. */
  readonly state: Readonly<ShallowRef<AuthState>>
  readonly status: ComputedRef<AuthState['status']>
  readonly user: ComputedRef<UserClaims | null>
  /** The last background failure (see `AuthState.error`). */
  readonly error: ComputedRef<AuthError | null>
  /**
   * Why the redirect callback failed (`callback_replayed`, `state_mismatch`, …), else `null`;
   * `invalid_config` when the app's `onRedirectCallback` failed (the sign-in itself succeeded).
   */
  readonly callbackError: Readonly<ShallowRef<AuthError | null>>
  readonly client: AuthClient
  signIn(options?: SignInOptions): Promise<void>
  /** Sign-in in a popup; call it straight from a click handler (see `AuthClient.signInWithPopup`). */
  signInWithPopup(options?: PopupSignInOptions): Promise<{ user: UserClaims }>
  signOut(options?: SignOutOptions): Promise<void>
  refresh(): Promise<void>
  getAccessToken(options?: { forceRefresh?: boolean; resource?: string }): Promise<string>
  getUserInfo(): Promise<UserInfo>
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>
}

/** The plugin: `app.use(auth)`; also what {@link createAuthGuard} takes. */
export interface AuthPlugin extends UseAuthResult {
  install(app: App): void
  /**
   * Resolves once the stored session is loaded and a redirect callback in the address bar was
   * handled (or failed); at once on a server.
   */
  settled(): Promise<void>
}

const AUTH_KEY: InjectionKey<UseAuthResult> = Symbol('spa-auth')

/**
 * Creates the plugin for an existing client, or for a `config` (and client `options`) from which
 * it creates one — disposed when the app unmounts. Installing it handles the redirect callback
 * once when the page is the redirect URI.
 *
 * Safe in a server-rendered app (`createSSRApp` + `vue/server-renderer`): without `window`, it
 * reads no browser global, handles no callback, and reports `status: 'loading'`; `settled()`
 * resolves at once there.
 */
export function createAuthPlugin(client: AuthClient, options?: AuthPluginOptions): AuthPlugin
export function createAuthPlugin(config: AuthConfig, options?: AuthPluginOptions & AuthClientOptions): AuthPlugin
export function createAuthPlugin(
  clientOrConfig: AuthClient | AuthConfig,
  options: AuthPluginOptions & AuthClientOptions = {},
): AuthPlugin {
  const owned = !isClient(clientOrConfig)
  const client = isClient(clientOrConfig) ? clientOrConfig : createAuthClient(clientOrConfig, clientOptions(options))
  const server = onServer()
  // On a server nothing is handled and no session is known: hold the state at `loading`, which is
  // also what the browser's first render shows while it reads the stored session.
  const redirectPending = shallowRef(server)
  const state = shallowRef<AuthState>(client.getSnapshot())
  const callbackError = shallowRef<AuthError | null>(null)
  const update = () => void (state.value = whileRedirecting(client.getSnapshot(), redirectPending.value))
  const failed = (error: AuthError) => void (callbackError.value = error)
  const unsubscribe = client.subscribe(update)
  let app: App | undefined
  let settling: Promise<void> | undefined

  /** Loads the session and handles a callback in the address bar, once per plugin. */
  function settle(): Promise<void> {
    if (server) return Promise.resolve()
    settling ??= (async () => {
      if (client.isRedirectCallback()) {
        redirectPending.value = true
        update()
        try {
          const result = await client.handleRedirectCallback()
          callRedirectCallback(() => (options.onRedirectCallback ?? navigateBack)(result, app), failed)
        } catch (error) {
          failed(
            isAuthError(error)
              ? error
              : new AuthError('unexpected', `The sign-in failed unexpectedly (${String(error)}); please report it.`, {
                  cause: error,
                }),
          )
        } finally {
          redirectPending.value = false
          update()
        }
      }
      await client.ready()
    })()
    return settling
  }

  const auth: AuthPlugin = {
    state,
    status: computed(() => state.value.status),
    user: computed(() => state.value.user),
    error: computed(() => state.value.error),
    callbackError,
    client,
    signIn: (signInOptions) => client.signIn(signInOptions),
    signInWithPopup: (popupOptions) => client.signInWithPopup(popupOptions),
    getUserInfo: () => client.getUserInfo(),
    signOut: (signOutOptions) => client.signOut(signOutOptions),
    refresh: () => client.refresh(),
    getAccessToken: (tokenOptions) => client.getAccessToken(tokenOptions),
    fetch: (input, init) => client.fetch(input, init),
    settled: settle,
    install(target) {
      app = target
      target.provide(AUTH_KEY, auth)
      // `onUnmount` exists since Vue 3.5, the peer range's floor.
      target.onUnmount(() => {
        unsubscribe()
        if (owned) client.dispose()
      })
      void settle()
    },
  }
  return auth
}

/**
 * The auth state and actions of the app's plugin, for `setup()` / `<script setup>`.
 *
 * @throws Error when the app has no `createAuthPlugin(...)` installed.
 */
export function useAuth(): UseAuthResult {
  const auth = inject(AUTH_KEY, null)
  if (auth === null) throw new Error('useAuth() needs the plugin: app.use(createAuthPlugin(...)).')
  return auth
}

/** The parts of a vue-router route location the guard reads (`RouteLocationNormalized` fits). */
export interface GuardedRoute {
  fullPath: string
  meta: Record<PropertyKey, unknown>
}

/** Options of {@link createAuthGuard}. */
export interface AuthGuardOptions {
  /** Which routes need a signed-in user. Default: those with `meta: { requiresAuth: true }` (inherited by child routes). */
  requiresAuth?: (to: GuardedRoute) => boolean
  /** Where to come back after signing in. Default `to.fullPath` (a router `base` other than `/` needs its prefix here). */
  returnTo?: (to: GuardedRoute) => string
}

/**
 * A `router.beforeEach` guard: waits until the session is loaded (and a redirect callback handled),
 * lets signed-in users through, and sends signed-out users to `signIn({ returnTo })`. On a server
 * (no `window`) it lets every route through; the browser's router runs it again after hydration.
 *
 * @example router.beforeEach(createAuthGuard(auth))
 */
export function createAuthGuard(
  auth: AuthPlugin,
  options: AuthGuardOptions = {},
): (to: GuardedRoute) => Promise<boolean> {
  const requiresAuth = options.requiresAuth ?? ((to: GuardedRoute) => to.meta['requiresAuth'] === true)
  const returnTo = options.returnTo ?? ((to: GuardedRoute) => to.fullPath)
  return async (to) => {
    // On a server there is no session to check and no browser to send away: the route renders
    // (as loading), and the browser's router runs this guard again after hydration.
    if (!requiresAuth(to) || onServer()) return true
    await auth.settled()
    if (auth.client.getSnapshot().status === 'signed-in') return true
    await auth.client.signIn({ returnTo: returnTo(to) })
    return false
  }
}

/** Server-side rendering: no `window`. Only then is the browser left alone entirely. */
function onServer(): boolean {
  return typeof window === 'undefined'
}

function isClient(value: AuthClient | AuthConfig): value is AuthClient {
  return typeof (value as Partial<AuthClient>).getSnapshot === 'function'
}

function clientOptions({ store, environment }: AuthClientOptions): AuthClientOptions {
  return { ...(store ? { store } : {}), ...(environment ? { environment } : {}) }
}

/** A `status: 'loading'` view of `snapshot` while the callback is handled, so no "signed out" flashes. */
function whileRedirecting(snapshot: AuthState, pending: boolean): AuthState {
  if (!pending || snapshot.status === 'loading') return snapshot
  return {
    status: 'loading',
    user: null,
    expiresAt: null,
    reason: null,
    storage: snapshot.storage,
    error: snapshot.error,
  }
}

/**
 * Calls the app's `onRedirectCallback`; what it throws, or what its promise rejects with, is
 * reported as an `invalid_config` AuthError instead of escaping as an unhandled rejection.
 */
function callRedirectCallback(callback: () => unknown, failed: (error: AuthError) => void): void {
  const report = (cause: unknown) =>
    failed(
      new AuthError(
        'invalid_config',
        "Going back to returnTo failed: onRedirectCallback (or, without one, router.replace) threw or rejected (see this error's cause). The sign-in itself succeeded and the user is signed in; fix the callback or the route.",
        { cause },
      ),
    )
  try {
    Promise.resolve(callback()).catch(report)
  } catch (cause) {
    report(cause)
  }
}

function navigateBack({ returnTo }: RedirectCallbackResult, app: App | undefined): Promise<unknown> | undefined {
  const router: unknown = app?.config.globalProperties['$router']
  if (typeof (router as { replace?: unknown } | undefined)?.replace === 'function') {
    return (router as { replace(to: string): Promise<unknown> }).replace(returnTo)
  }
  globalThis.history.replaceState(globalThis.history.state, '', returnTo)
  return undefined
}

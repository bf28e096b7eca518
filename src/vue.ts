/**
 * `spa-auth/vue`: a plugin, a `useAuth()` composable and a vue-router guard over the public API
 * of `spa-auth`. The snapshot lives in one `shallowRef`, replaced (never mutated) on every change.
 * vue-router is not a dependency: the guard only reads the route fields it needs.
 *
 * @packageDocumentation
 */
import { computed, inject, shallowRef, type App, type ComputedRef, type InjectionKey, type ShallowRef } from 'vue'
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
  type SignInResult,
  type UserClaims,
} from './index.js'

/** What `handleRedirectCallback()` resolved: the path to go back to and the signed-in user. */
export type RedirectCallbackResult = SignInResult

/** Options of `createAuthPlugin`. */
export interface AuthPluginOptions {
  /**
   * Called once the redirect callback succeeded. Default: `router.replace(returnTo)` when the app
   * uses vue-router (`app.config.globalProperties.$router`), else `history.replaceState`.
   * If it throws or its promise rejects (the default's `router.replace` included), `callbackError`
   * becomes a `redirect_callback_failed` AuthError whose `cause` is what it threw; the user stays
   * signed in and the status leaves `loading`. Its promise is not awaited (the router's guard may
   * itself be waiting for `settled()`).
   */
  onRedirectCallback?: (result: RedirectCallbackResult, app: App | undefined) => void | Promise<unknown>
}

/** What `useAuth()` returns: refs for the template, and the client's actions bound. */
export interface UseAuthResult extends AuthActions {
  /** The snapshot; `status: 'loading'` while a redirect callback is handled. */
  readonly state: Readonly<ShallowRef<AuthState>>
  /** `state.status`: `'loading'`, `'signed-out'` or `'signed-in'`. */
  readonly status: ComputedRef<AuthState['status']>
  /** `state.user`: the validated ID-token claims of the signed-in user, else `null`. */
  readonly user: ComputedRef<UserClaims | null>
  /** The last background failure (see `AuthState.error`). */
  readonly error: ComputedRef<AuthError | null>
  /**
   * Why the redirect callback failed (`callback_replayed`, `state_mismatch`, …), else `null`;
   * `redirect_callback_failed` when the app's `onRedirectCallback` failed (the sign-in itself succeeded).
   */
  readonly callbackError: Readonly<ShallowRef<AuthError | null>>
  /** The client the plugin was created with (or created from its `config`). */
  readonly client: AuthClient
}

/** The plugin: `app.use(auth)`; also what {@link createAuthGuard} takes. */
export interface AuthPlugin extends UseAuthResult {
  /** Installs the plugin (`app.use` calls it): provides `useAuth()` and handles the redirect callback. */
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
/** Creates the plugin and its own client, from `config` and the client's `options` (`store`, `environment`). */
export function createAuthPlugin(config: AuthConfig, options?: AuthPluginOptions & AuthClientOptions): AuthPlugin
export function createAuthPlugin(
  clientOrConfig: AuthClient | AuthConfig,
  options: AuthPluginOptions & AuthClientOptions = {},
): AuthPlugin {
  const owned = !isClient(clientOrConfig)
  const client = isClient(clientOrConfig) ? clientOrConfig : createAuthClient(clientOrConfig, clientOptions(options))
  let app: App | undefined
  const redirect = createRedirectController(client, {
    onRedirectCallback: (result) => (options.onRedirectCallback ?? navigateBack)(result, app),
  })
  const state = shallowRef(redirect.getSnapshot().state)
  const callbackError = shallowRef(redirect.getSnapshot().callbackError)
  const unsubscribe = redirect.subscribe(() => {
    const snapshot = redirect.getSnapshot()
    state.value = snapshot.state
    callbackError.value = snapshot.callbackError
  })

  const auth: AuthPlugin = {
    state,
    status: computed(() => state.value.status),
    user: computed(() => state.value.user),
    error: computed(() => state.value.error),
    callbackError,
    client,
    ...bindAuthActions(client),
    settled: () => redirect.start(),
    install(target) {
      app = target
      target.provide(AUTH_KEY, auth)
      // `onUnmount` exists since Vue 3.5, the peer range's floor.
      target.onUnmount(() => {
        redirect.stop()
        unsubscribe()
        if (owned) client.dispose()
      })
      void redirect.start()
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
  /** The path with query and hash, where the user comes back after signing in. */
  fullPath: string
  /** The route's merged `meta`, where `requiresAuth: true` asks for a signed-in user. */
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

function navigateBack({ returnTo }: RedirectCallbackResult, app: App | undefined): Promise<unknown> | undefined {
  const router: unknown = app?.config.globalProperties['$router']
  if (typeof (router as { replace?: unknown } | undefined)?.replace === 'function') {
    return (router as { replace(to: string): Promise<unknown> }).replace(returnTo)
  }
  globalThis.history.replaceState(globalThis.history.state, '', returnTo)
  return undefined
}

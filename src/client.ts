import { createApiFetch } from './api-fetch.js'
import type { SignInOptions } from './authorize.js'
import { readCallback } from './callback.js'
import { resolveConfig, type AuthConfig } from './config.js'
import { createBrowserEnvironment, type AuthEnvironment } from './environment.js'
import { AuthError } from './errors.js'
import { createProtocol, type Protocol } from './protocol.js'
import type { AuthState } from './session-machine.js'
import { createSession } from './session.js'
import { createSignInFlow, type SignInResult } from './sign-in.js'
import { openDefaultStore, type KeyValueStore, type StorageKind } from './storage.js'

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

/** A client for one provider and one application; see DESIGN.md §2 for the contract. */
export interface AuthClient {
  getSnapshot(): AuthState
  subscribe(listener: () => void): () => void
  /** Resolves once the stored session is loaded (no network). Always the same promise; never rejects. */
  ready(): Promise<void>
  createSignInUrl(options?: SignInOptions): Promise<string>
  signIn(options?: SignInOptions): Promise<void>
  isRedirectCallback(url?: string): boolean
  handleRedirectCallback(url?: string): Promise<SignInResult>
  getAccessToken(options?: { forceRefresh?: boolean }): Promise<string>
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>
  refresh(): Promise<void>
  signOut(options?: SignOutOptions): Promise<void>
  /** When the next background refresh is due (epoch ms), or `undefined` when none is planned. */
  nextRefreshAt(): number | undefined
  dispose(): void
}

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
  const loadProtocol = () => (protocol ??= opened.then(({ store }) => createProtocol(config, env, store)))
  const session = createSession({ config, env, opened, protocol: loadProtocol })
  const signIn = createSignInFlow({ config, env, session, protocol: loadProtocol })
  const apiFetch = createApiFetch({ config, env, session, protocol: loadProtocol })
  const ready = session.ready.then(() => {})
  let disposed = false

  /** `action`, or a rejection once the client is disposed. */
  function live<A extends unknown[], R>(action: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return (...args) =>
      disposed
        ? Promise.reject(new AuthError('disposed', 'This client was disposed; create a new one.'))
        : action(...args)
  }

  return {
    getSnapshot: () => session.snapshots.get(),
    subscribe: (listener) => session.snapshots.subscribe(listener),
    ready: () => ready,
    createSignInUrl: live((signInOptions: SignInOptions = {}) => signIn.createSignInUrl(signInOptions)),
    signIn: live(async (signInOptions: SignInOptions = {}) =>
      env.navigate(await signIn.createSignInUrl(signInOptions)),
    ),
    isRedirectCallback: (url = env.currentUrl()) => readCallback(url, config.redirectUri) !== undefined,
    handleRedirectCallback: live((url: string = env.currentUrl()) => signIn.handleRedirectCallback(url)),
    getAccessToken: live((tokenOptions: { forceRefresh?: boolean } = {}) =>
      session.accessToken({ force: tokenOptions.forceRefresh === true }),
    ),
    fetch: live(apiFetch),
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
    dispose() {
      disposed = true
      session.dispose()
    },
  }
}

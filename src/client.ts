import * as oauth from 'oauth4webapi'
import { createAuthorizationRequest, sameOriginPath, type SignInOptions, type SignInTransaction } from './authorize.js'
import { exchangeCode, readCallback, validateCallback, withoutCallbackParams } from './callback.js'
import { resolveConfig, type AuthConfig, type ResolvedConfig } from './config.js'
import { discover } from './discovery.js'
import { createBrowserEnvironment, type AuthEnvironment } from './environment.js'
import { AuthError, isAuthError } from './errors.js'
import { endSessionUrl, revokeToken } from './logout.js'
import { isRefreshTokenRejected, refreshGrant } from './refresh.js'
import { putSingleUse, takeSingleUse } from './single-use.js'
import { createSnapshotStore } from './state.js'
import { openDefaultStore, type KeyValueStore, type StorageKind } from './storage.js'
import { refreshDueAt, tokenSetFromResponse, type TokenSet, type UserClaims } from './token-set.js'
import { createTransport } from './transport.js'

/** Why the user is signed out. */
export type SignedOutReason = 'signed-out' | 'refresh-rejected' | 'expired' | 'other-tab' | 'subject-changed'

interface StateBase {
  /** Where the session is kept: `memory` means IndexedDB was unavailable and the session ends with the tab. */
  storage: StorageKind | null
  /** The last background failure (a refresh that failed and will be retried, a blocked store), or `null`. */
  error: AuthError | null
}

/** The snapshot `getSnapshot()` returns; a new object on every change, never mutated. */
export type AuthState =
  | (StateBase & { status: 'loading'; user: null; expiresAt: null; reason: null })
  | (StateBase & { status: 'signed-out'; user: null; expiresAt: null; reason: SignedOutReason | null })
  | (StateBase & { status: 'signed-in'; user: UserClaims; expiresAt: number; reason: null })

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
  /** Resolves once the stored session is loaded (no network). */
  ready(): Promise<void>
  createSignInUrl(options?: SignInOptions): Promise<string>
  signIn(options?: SignInOptions): Promise<void>
  isRedirectCallback(url?: string): boolean
  handleRedirectCallback(url?: string): Promise<{ returnTo: string; user: UserClaims }>
  getAccessToken(options?: { forceRefresh?: boolean }): Promise<string>
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>
  refresh(): Promise<void>
  signOut(options?: SignOutOptions): Promise<void>
  dispose(): void
}

/** What the store keeps under `session:<issuer>|<clientId>`. */
interface SessionRecord {
  tokens: TokenSet
  claims: UserClaims
}

/** Authing's authorization codes live ten minutes; a transaction never outlives its code. */
const TRANSACTION_LIFETIME_MS = 10 * 60_000
const METADATA_MAX_AGE_MS = 24 * 60 * 60_000
const TX_PREFIX = 'tx:'

const base = { user: null, expiresAt: null, reason: null, error: null } as const

/**
 * Creates a client. Nothing is fetched until a sign-in, a callback or a refresh needs the provider.
 *
 * @throws AuthError `invalid_config` or `insecure_issuer` for an unusable configuration.
 */
export function createAuthClient(authConfig: AuthConfig, options: AuthClientOptions = {}): AuthClient {
  const config: ResolvedConfig = resolveConfig(authConfig)
  const env: AuthEnvironment = { ...createBrowserEnvironment(), ...options.environment }
  const transport = createTransport(config, env)
  const state = createSnapshotStore<AuthState>({ ...base, status: 'loading', storage: null })
  let session: SessionRecord | undefined
  let metadata: Promise<oauth.AuthorizationServer> | undefined
  let refreshing: Promise<SessionRecord> | undefined
  let disposed = false
  const callbacks = new Map<string, Promise<{ returnTo: string; user: UserClaims }>>()

  const opened: Promise<KeyValueStore> = (async () => {
    const { store, kind } = options.store ? { store: options.store, kind: 'custom' as const } : await openDefaultStore()
    let error: AuthError | null = null
    try {
      session = await store.get<SessionRecord>(config.sessionKey)
    } catch (cause) {
      error = new AuthError('storage_error', 'The stored session could not be read; sign in again.', { cause })
    }
    if (session && session.tokens.refreshToken === undefined && session.tokens.expiresAt <= env.now()) {
      session = undefined
      await store.del(config.sessionKey).catch(() => {})
      publish(undefined, 'expired', kind, error)
    } else {
      publish(session, null, kind, error)
    }
    return store
  })()

  function publish(next: SessionRecord | undefined, reason: SignedOutReason | null, storage = state.get().storage, error: AuthError | null = null): void {
    session = next
    state.set(
      next
        ? { ...base, status: 'signed-in', user: next.claims, expiresAt: next.tokens.expiresAt, storage, error }
        : { ...base, status: 'signed-out', reason, storage, error },
    )
  }

  function setError(error: AuthError): void {
    state.set({ ...state.get(), error })
  }

  function assertLive(): void {
    if (disposed) throw new AuthError('disposed', 'This client was disposed; create a new one.')
  }

  /** oauth4webapi's client metadata; `clockSkew` makes its clock agree with the injected `now()`. */
  function oauthClient(): oauth.Client {
    return { client_id: config.clientId, [oauth.clockSkew]: Math.round((env.now() - Date.now()) / 1000) }
  }

  /** The discovery document: memory, else the store (no network on a warm start), else the provider. */
  function getMetadata(): Promise<oauth.AuthorizationServer> {
    metadata ??= (async () => {
      const store = await opened
      const cached = await store.get<{ as: oauth.AuthorizationServer; fetchedAt: number }>(config.metadataKey).catch(() => undefined)
      if (cached && new URL(cached.as.issuer).href === config.issuer.href) {
        if (env.now() - cached.fetchedAt > METADATA_MAX_AGE_MS) void fetchMetadata(store).catch(() => {})
        return cached.as
      }
      return fetchMetadata(store)
    })()
    metadata.catch(() => (metadata = undefined))
    return metadata
  }

  async function fetchMetadata(store: KeyValueStore): Promise<oauth.AuthorizationServer> {
    const as = await discover(config.issuer, transport)
    await store.set(config.metadataKey, { as, fetchedAt: env.now() }).catch(() => {})
    return as
  }

  async function saveSession(store: KeyValueStore, next: SessionRecord): Promise<void> {
    try {
      await store.set(config.sessionKey, next)
    } catch (cause) {
      throw new AuthError('storage_error', 'The new session could not be saved; sign in again.', { cause })
    }
    publish(next, null)
  }

  async function createSignInUrl(signInOptions: SignInOptions = {}): Promise<string> {
    assertLive()
    const current = new URL(env.currentUrl())
    const returnTo = sameOriginPath(signInOptions.returnTo ?? current.pathname + current.search + current.hash, current.origin)
    const [store, as] = await Promise.all([opened, getMetadata()])
    const { url, transaction } = await createAuthorizationRequest(as, config, { returnTo, now: env.now(), authorizeParams: signInOptions.authorizeParams })
    await putSingleUse(store, TX_PREFIX, transaction.state, transaction, env.now(), TRANSACTION_LIFETIME_MS)
    return url
  }

  async function completeCallback(url: string): Promise<{ returnTo: string; user: UserClaims }> {
    const params = readCallback(url, config.redirectUri)
    if (params === undefined) {
      throw new AuthError('not_a_callback', `${url} is not a sign-in response: it must be the redirect URI with "state" and "code" (or "error").`)
    }
    if (url === env.currentUrl()) env.replaceUrl(withoutCallbackParams(url))
    const store = await opened
    const taken = await takeSingleUse<SignInTransaction>(store, TX_PREFIX, params.get('state')!, env.now())
    switch (taken.outcome) {
      case 'already-taken':
        throw new AuthError('callback_replayed', 'This sign-in response was already used. Each response works once; sign in again if needed.')
      case 'expired':
        throw new AuthError('transaction_expired', 'This sign-in was started more than ten minutes ago and has expired. Sign in again.')
      case 'missing':
        throw taken.othersPending > 0
          ? new AuthError('state_mismatch', 'The sign-in response does not match the sign-in this browser started (the state was altered). Sign in again.')
          : new AuthError('transaction_not_found', 'No sign-in was started in this browser for this response (it was opened elsewhere, or storage was cleared). Sign in again.')
    }
    const transaction = taken.value
    const as = await getMetadata()
    const validated = validateCallback(as, oauthClient(), params, transaction.state)
    const { response, claims } = await exchangeCode(as, oauthClient(), validated, transaction, transport)
    await saveSession(store, { tokens: tokenSetFromResponse(response, env.now()), claims })
    return { returnTo: transaction.returnTo, user: claims }
  }

  async function runRefresh(): Promise<SessionRecord> {
    const store = await opened
    const current = session
    if (current?.tokens.refreshToken === undefined) {
      throw new AuthError('not_signed_in', 'The session cannot be refreshed: the provider issued no refresh token (ask for the offline_access scope).')
    }
    const as = await getMetadata()
    let refreshToken = current.tokens.refreshToken
    for (let attempt = 0; ; attempt++) {
      try {
        const { response, claims } = await refreshGrant(as, oauthClient(), refreshToken, current.claims, transport)
        const next = { tokens: tokenSetFromResponse(response, env.now(), current.tokens), claims: claims ?? current.claims }
        await saveSession(store, next)
        return next
      } catch (error) {
        const rejected = isRefreshTokenRejected(error)
        // Another tab may have rotated the refresh token while this one held the old one: read the
        // store once more and retry with the newer token before giving the session up.
        const stored = rejected && attempt === 0 ? await store.get<SessionRecord>(config.sessionKey).catch(() => undefined) : undefined
        if (stored?.tokens.refreshToken !== undefined && stored.tokens.refreshToken !== refreshToken) {
          refreshToken = stored.tokens.refreshToken
          continue
        }
        if (rejected || isAuthError(error, 'subject_changed')) {
          await store.del(config.sessionKey).catch(() => {})
          publish(undefined, rejected ? 'refresh-rejected' : 'subject-changed', undefined, error as AuthError)
        } else {
          setError(error as AuthError)
        }
        throw error
      }
    }
  }

  /** Single flight: every caller in this tab joins the refresh already under way. */
  function refreshOnce(): Promise<SessionRecord> {
    refreshing ??= runRefresh().finally(() => (refreshing = undefined))
    return refreshing
  }

  async function getAccessToken(tokenOptions: { forceRefresh?: boolean } = {}): Promise<string> {
    assertLive()
    if (session && !tokenOptions.forceRefresh && env.now() < refreshDueAt(session.tokens, config.refreshLeewaySeconds)) {
      return session.tokens.accessToken
    }
    await opened
    if (session === undefined) throw new AuthError('not_signed_in', 'Nobody is signed in; call signIn() first.')
    if (session.tokens.refreshToken !== undefined) return (await refreshOnce()).tokens.accessToken
    if (session.tokens.expiresAt > env.now()) return session.tokens.accessToken
    const store = await opened
    await store.del(config.sessionKey).catch(() => {})
    publish(undefined, 'expired')
    throw new AuthError('not_signed_in', 'The session expired and the provider issued no refresh token; sign in again.')
  }

  return {
    getSnapshot: () => state.get(),
    subscribe: (listener) => state.subscribe(listener),
    ready: async () => void (await opened),
    createSignInUrl,
    async signIn(signInOptions) {
      env.navigate(await createSignInUrl(signInOptions))
    },
    isRedirectCallback: (url = env.currentUrl()) => readCallback(url, config.redirectUri) !== undefined,
    handleRedirectCallback(url = env.currentUrl()) {
      assertLive()
      // One exchange per response, even when a framework calls twice (React StrictMode).
      let pending = callbacks.get(url)
      if (pending === undefined) {
        pending = completeCallback(url)
        callbacks.set(url, pending)
      }
      return pending
    },
    getAccessToken,
    async fetch(input, init = {}) {
      const headers = new Headers(init.headers)
      headers.set('authorization', `Bearer ${await getAccessToken()}`)
      return env.fetch(input, { ...init, headers })
    },
    async refresh() {
      assertLive()
      await opened
      if (session === undefined) throw new AuthError('not_signed_in', 'Nobody is signed in; call signIn() first.')
      await refreshOnce()
    },
    async signOut(signOutOptions = {}) {
      assertLive()
      const store = await opened
      const ended = session
      let revokeError: AuthError | null = null
      const as = await getMetadata().catch((error: AuthError) => void (revokeError = error))
      if (as && ended?.tokens.refreshToken !== undefined) {
        await revokeToken(as, oauthClient(), ended.tokens.refreshToken, transport).catch((error: AuthError) => (revokeError = error))
      }
      await store.del(config.sessionKey).catch(() => {})
      publish(undefined, 'signed-out', undefined, revokeError)
      const logoutUrl = as && endSessionUrl(as, { clientId: config.clientId, idToken: ended?.tokens.idToken, postLogoutRedirectUri: config.postLogoutRedirectUri })
      if (signOutOptions.redirect !== false && logoutUrl !== undefined) env.navigate(logoutUrl)
    },
    dispose() {
      disposed = true
    },
  }
}

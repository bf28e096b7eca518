import * as oauth from 'oauth4webapi'
import { createAuthorizationRequest, sameOriginPath, type SignInOptions, type SignInTransaction } from './authorize.js'
import { exchangeCode, readCallback, validateCallback, withoutCallbackParams } from './callback.js'
import { resolveConfig, type AuthConfig, type ResolvedConfig } from './config.js'
import { discover } from './discovery.js'
import { assertDpopSupported, dpopResourceRequest } from './dpop.js'
import { createBrowserEnvironment, type AuthEnvironment } from './environment.js'
import { AuthError } from './errors.js'
import { endSessionUrl, revokeToken } from './logout.js'
import { putSingleUse, takeSingleUse } from './single-use.js'
import { createProofKey } from './proof-key.js'
import { createSession, type AuthState } from './session.js'
import { openDefaultStore, type KeyValueStore, type StorageKind } from './storage.js'
import { tokenSetFromResponse, type UserClaims } from './token-set.js'
import { createTransport } from './transport.js'

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
  /** When the next background refresh is due (epoch ms), or `undefined` when none is planned. */
  nextRefreshAt(): number | undefined
  dispose(): void
}

/** Authing's authorization codes live ten minutes; a transaction never outlives its code. */
const TRANSACTION_LIFETIME_MS = 10 * 60_000
const METADATA_MAX_AGE_MS = 24 * 60 * 60_000
const TX_PREFIX = 'tx:'

/**
 * Creates a client. Nothing is fetched until a sign-in, a callback or a refresh needs the provider.
 *
 * @throws AuthError `invalid_config` or `insecure_issuer` for an unusable configuration.
 */
export function createAuthClient(authConfig: AuthConfig, options: AuthClientOptions = {}): AuthClient {
  const config: ResolvedConfig = resolveConfig(authConfig)
  const env: AuthEnvironment = { ...createBrowserEnvironment(), ...options.environment }
  const transport = createTransport(config, env)
  const opened = options.store
    ? Promise.resolve({ store: options.store, kind: 'custom' as StorageKind })
    : openDefaultStore()
  let metadata: Promise<oauth.AuthorizationServer> | undefined
  let disposed = false
  const callbacks = new Map<string, Promise<{ returnTo: string; user: UserClaims }>>()

  /** oauth4webapi's client metadata; `clockSkew` makes its clock agree with the injected `now()`. */
  function oauthClient(): oauth.Client {
    return { client_id: config.clientId, [oauth.clockSkew]: Math.round((env.now() - Date.now()) / 1000) }
  }

  /** The discovery document: memory, else the store (no network on a warm start), else the provider. */
  function getMetadata(): Promise<oauth.AuthorizationServer> {
    metadata ??= (async () => {
      const { store } = await opened
      const cached = await store
        .get<{ as: oauth.AuthorizationServer; fetchedAt: number }>(config.metadataKey)
        .catch(() => undefined)
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

  const proofKey = createProofKey(
    config,
    opened.then(({ store }) => store),
    oauthClient,
  )
  const session = createSession({ config, env, opened, transport, metadata: getMetadata, oauthClient, proofKey })

  function assertLive(): void {
    if (disposed) throw new AuthError('disposed', 'This client was disposed; create a new one.')
  }

  // Not async on purpose: the hot path hands the session's promise straight through.
  function getAccessToken(tokenOptions: { forceRefresh?: boolean } = {}): Promise<string> {
    try {
      assertLive()
    } catch (error) {
      return Promise.reject(error)
    }
    return session.accessToken(tokenOptions.forceRefresh === true)
  }

  async function createSignInUrl(signInOptions: SignInOptions = {}): Promise<string> {
    assertLive()
    const current = new URL(env.currentUrl())
    const returnTo = sameOriginPath(
      signInOptions.returnTo ?? current.pathname + current.search + current.hash,
      current.origin,
    )
    const [store, as] = await Promise.all([session.ready, getMetadata()])
    if (config.dpop) {
      assertDpopSupported(as)
      await proofKey.handle(true)
    }
    const { url, transaction } = await createAuthorizationRequest(as, config, {
      returnTo,
      now: env.now(),
      authorizeParams: signInOptions.authorizeParams,
    })
    await putSingleUse(store, TX_PREFIX, transaction.state, transaction, env.now(), TRANSACTION_LIFETIME_MS)
    return url
  }

  async function completeCallback(url: string): Promise<{ returnTo: string; user: UserClaims }> {
    const params = readCallback(url, config.redirectUri)
    if (params === undefined) {
      throw new AuthError(
        'not_a_callback',
        `${url} is not a sign-in response: it must be the redirect URI with "state" and "code" (or "error").`,
      )
    }
    if (url === env.currentUrl()) env.replaceUrl(withoutCallbackParams(url))
    const store = await session.ready
    const taken = await takeSingleUse<SignInTransaction>(store, TX_PREFIX, params.get('state')!, env.now())
    switch (taken.outcome) {
      case 'already-taken':
        throw new AuthError(
          'callback_replayed',
          'This sign-in response was already used. Each response works once; sign in again if needed.',
        )
      case 'expired':
        throw new AuthError(
          'transaction_expired',
          'This sign-in was started more than ten minutes ago and has expired. Sign in again.',
        )
      case 'missing':
        throw taken.othersPending > 0
          ? new AuthError(
              'state_mismatch',
              'The sign-in response does not match the sign-in this browser started (the state was altered). Sign in again.',
            )
          : new AuthError(
              'transaction_not_found',
              'No sign-in was started in this browser for this response (it was opened elsewhere, or storage was cleared). Sign in again.',
            )
    }
    const transaction = taken.value
    const as = await getMetadata()
    const validated = validateCallback(as, oauthClient(), params, transaction.state)
    const dpop = await proofKey.handle()
    const { response, claims } = await exchangeCode(as, oauthClient(), validated, transaction, transport, dpop)
    await session.save({ tokens: tokenSetFromResponse(response, env.now()), claims })
    return { returnTo: transaction.returnTo, user: claims }
  }

  async function signOut(signOutOptions: SignOutOptions = {}): Promise<void> {
    assertLive()
    await session.ready
    const ended = session.current()
    let failure: AuthError | null = null
    const as = await getMetadata().catch((error: AuthError) => void (failure = error))
    if (as && ended?.tokens.refreshToken !== undefined) {
      await revokeToken(as, oauthClient(), ended.tokens.refreshToken, transport).catch(
        (error: AuthError) => (failure = error),
      )
    }
    await session.end('signed-out', failure)
    const logoutUrl =
      as &&
      endSessionUrl(as, {
        clientId: config.clientId,
        idToken: ended?.tokens.idToken,
        postLogoutRedirectUri: config.postLogoutRedirectUri,
      })
    if (signOutOptions.redirect !== false && logoutUrl !== undefined) env.navigate(logoutUrl)
  }

  return {
    getSnapshot: () => session.state.get(),
    subscribe: (listener) => session.state.subscribe(listener),
    ready: async () => void (await session.ready),
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
      const token = await getAccessToken()
      if (session.current()?.tokens.tokenType === 'dpop') {
        const handle = await proofKey.handle().catch(async (error: AuthError) => {
          await session.end('dpop-key-lost', error)
          throw error
        })
        return dpopResourceRequest(handle!, token, new Request(input, init), env.fetch)
      }
      const headers = new Headers(init.headers)
      headers.set('authorization', `Bearer ${token}`)
      return env.fetch(input, { ...init, headers })
    },
    async refresh() {
      assertLive()
      await session.ready
      if (session.current() === undefined)
        throw new AuthError('not_signed_in', 'Nobody is signed in; call signIn() first.')
      await session.refresh(true)
    },
    signOut,
    nextRefreshAt: () => session.nextRefreshAt(),
    dispose() {
      disposed = true
      session.dispose()
    },
  }
}

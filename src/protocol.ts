/**
 * The provider, as the session sees it: every protocol step over oauth4webapi, bound to one
 * client's configuration, clock, transport, discovery document and DPoP handles. The session core
 * only holds a promise of this module, so nothing of oauth4webapi is needed before a step is.
 */
import * as oauth from 'oauth4webapi'
import { createAuthorizationRequest, type SignInOptions, type SignInTransaction } from './authorize.js'
import { exchangeCode, validateCallback } from './callback.js'
import type { ResolvedConfig } from './config.js'
import { discover } from './discovery.js'
import { assertDpopSupported, createDpopHandle, dpopResourceRequest, generateDpopKeyPair } from './dpop.js'
import type { AuthEnvironment } from './environment.js'
import { endSessionUrl, revokeToken } from './logout.js'
import { refreshGrant, type RefreshOutcome } from './refresh.js'
import type { SessionRecord } from './session-record.js'
import type { KeyValueStore } from './storage.js'
import { tokenSetFromResponse, type TokenSet, type UserClaims } from './token-set.js'
import { createTransport } from './transport.js'

/** A sign-in between the redirect to the provider and the callback, as kept in the store. */
export interface PendingSignIn extends SignInTransaction {
  /** The sign-in belongs to this issuer and client: another client's callback must not consume it. */
  issuer: string
  clientId: string
  /** The DPoP key generated for this sign-in; the session's tokens are bound to it. */
  dpopKey?: CryptoKeyPair
  /** `max_age` sent on the authorization request (seconds). */
  maxAgeSeconds?: number
}

/** What the session core asks of the provider. */
export interface Protocol {
  /** The authorization URL and the sign-in to keep until the callback (with a new DPoP key when `dpop` is on). */
  startSignIn(input: { returnTo: string; authorizeParams: SignInOptions['authorizeParams'] }): Promise<{
    url: string
    pending: PendingSignIn
  }>
  /** Checks the callback (state, RFC 9207 `iss`, `error=`) and exchanges its code. */
  completeSignIn(params: URLSearchParams, pending: PendingSignIn): Promise<{ tokens: TokenSet; claims: UserClaims }>
  /** The refresh grant for `record`, classified; new tokens keep what the answer left out. */
  refresh(record: SessionRecord): Promise<RefreshResult>
  /** Revokes a refresh token (RFC 7009); `false` when the provider offers no revocation. */
  revoke(refreshToken: string): Promise<boolean>
  /** The RP-initiated logout URL for a session that held `idToken`, if the provider has one. */
  endSessionUrl(idToken: string | undefined): Promise<string | undefined>
  /** Sends `request` with the session's DPoP-bound token and a proof from its key. */
  dpopRequest(record: SessionRecord, request: Request): Promise<Response>
  /** Whether the provider answers at all (its discovery document), bypassing every cache. */
  answers(): Promise<boolean>
}

/** {@link RefreshOutcome}, with a `refreshed` answer turned into the session's new tokens and claims. */
export type RefreshResult =
  Exclude<RefreshOutcome, { kind: 'refreshed' }> | { kind: 'refreshed'; tokens: TokenSet; claims: UserClaims }

const METADATA_MAX_AGE_MS = 24 * 60 * 60_000

/** Binds every protocol step to one client. */
export function createProtocol(config: ResolvedConfig, env: AuthEnvironment, store: KeyValueStore): Protocol {
  const transport = createTransport(config, env)
  let metadata: Promise<oauth.AuthorizationServer> | undefined
  // One DPoP handle per sign-in: the handle remembers the servers' nonces.
  let proof: { generation: string; handle: oauth.DPoPHandle } | undefined

  /** oauth4webapi's client metadata; `clockSkew` makes its clock agree with the injected `now()`. */
  const client = (): oauth.Client => ({
    client_id: config.clientId,
    [oauth.clockSkew]: Math.round((env.now() - Date.now()) / 1000),
    [oauth.clockTolerance]: config.clockToleranceSeconds,
  })
  const checks = () => ({
    clientId: config.clientId,
    nowSeconds: Math.floor(env.now() / 1000),
    toleranceSeconds: config.clockToleranceSeconds,
  })

  /** The discovery document: memory, else the store (no network on a warm start), else the provider. */
  function getMetadata(): Promise<oauth.AuthorizationServer> {
    metadata ??= (async () => {
      const cached = await store
        .get<{ as: oauth.AuthorizationServer; fetchedAt: number }>(config.metadataKey)
        .catch(() => undefined)
      if (cached && new URL(cached.as.issuer).href === config.issuer.href) {
        if (env.now() - cached.fetchedAt > METADATA_MAX_AGE_MS) void fetchMetadata().catch(() => {})
        return cached.as
      }
      return fetchMetadata()
    })()
    metadata.catch(() => (metadata = undefined))
    return metadata
  }

  async function fetchMetadata(): Promise<oauth.AuthorizationServer> {
    const as = await discover(config.issuer, transport)
    await store.set(config.metadataKey, { as, fetchedAt: env.now() }).catch(() => {})
    return as
  }

  /** Keeps the discovery document that carries a freshly fetched key set (see verifyIdTokenSignature). */
  function adopt(as: oauth.AuthorizationServer): void {
    metadata = Promise.resolve(as)
  }

  function dpopHandle(generation: string, keyPair: CryptoKeyPair | undefined): oauth.DPoPHandle | undefined {
    if (!config.dpop || keyPair === undefined) return undefined
    if (proof?.generation !== generation) proof = { generation, handle: createDpopHandle(client(), keyPair) }
    return proof.handle
  }

  return {
    async startSignIn({ returnTo, authorizeParams }) {
      const as = await getMetadata()
      if (config.dpop) assertDpopSupported(as)
      const [{ url, transaction }, dpopKey] = await Promise.all([
        createAuthorizationRequest(as, config, { returnTo, now: env.now(), authorizeParams }),
        config.dpop ? generateDpopKeyPair() : undefined,
      ])
      const pending: PendingSignIn = { ...transaction, issuer: config.issuer.href, clientId: config.clientId }
      if (dpopKey) pending.dpopKey = dpopKey
      const maxAge = new URL(url).searchParams.get('max_age')
      if (maxAge !== null && /^\d+$/.test(maxAge)) pending.maxAgeSeconds = Number(maxAge)
      return { url, pending }
    },

    async completeSignIn(params, pending) {
      const as = await getMetadata()
      const validated = validateCallback(as, client(), params, pending.state)
      const dpop = pending.dpopKey ? createDpopHandle(client(), pending.dpopKey) : undefined
      const input = { ...pending, ...checks(), dpop }
      const { response, claims, as: verifiedBy } = await exchangeCode(as, client(), validated, input, transport)
      if (verifiedBy !== as) adopt(verifiedBy)
      return { tokens: tokenSetFromResponse(response, env.now()), claims }
    },

    async refresh(record) {
      const as = await getMetadata()
      const { tokens, claims, generation, dpopKey } = record
      const input = {
        refreshToken: tokens.refreshToken!,
        previous: claims,
        ...checks(),
        dpop: dpopHandle(generation, dpopKey),
      }
      const outcome = await refreshGrant(as, client(), input, transport)
      if (outcome.kind !== 'refreshed') return outcome
      if (outcome.as !== as) adopt(outcome.as)
      return {
        kind: 'refreshed',
        tokens: tokenSetFromResponse(outcome.response, env.now(), tokens),
        claims: outcome.claims ?? claims,
      }
    },

    async revoke(refreshToken) {
      return revokeToken(await getMetadata(), client(), refreshToken, transport)
    },

    async endSessionUrl(idToken) {
      const as = await getMetadata()
      return endSessionUrl(as, {
        clientId: config.clientId,
        idToken,
        postLogoutRedirectUri: config.postLogoutRedirectUri,
      })
    },

    async dpopRequest(record, request) {
      const handle = dpopHandle(record.generation, record.dpopKey)!
      return dpopResourceRequest(handle, record.tokens.accessToken, request, env.fetch)
    },

    async answers() {
      try {
        await discover(config.issuer, transport)
        return true
      } catch {
        return false
      }
    },
  }
}

/**
 * The provider, as the session sees it: every protocol step over oauth4webapi, bound to one
 * client's configuration, clock, transport, discovery document and DPoP handles. The session core
 * only holds a promise of this module, so nothing of oauth4webapi is needed before a step is.
 */
import * as oauth from 'oauth4webapi'
import {
  authorizationUrl,
  createAuthorizationRequest,
  shouldPush,
  type SignInOptions,
  type SignInTransaction,
} from './authorize.js'
import { exchangeCode, validateCallback } from './callback.js'
import type { ResolvedConfig } from './config.js'
import { discover } from './discovery.js'
import type { AuthEnvironment } from './environment.js'
import { isAuthError } from './errors.js'
import { endSessionUrl, revokeToken } from './logout.js'
import { refreshGrant, type RefreshOutcome } from './refresh.js'
import type { SessionRecord } from './session-record.js'
import type { KeyValueStore } from './storage.js'
import { tokenSetFromResponse, type TokenSet, type UserClaims } from './token-set.js'
import { createTransport } from './transport.js'
import type { UserInfo } from './userinfo.js'

/** A sign-in between the redirect to the provider and the callback, as kept in the store. */
export interface PendingSignIn extends SignInTransaction {
  /** The sign-in belongs to this issuer and client: another client's callback must not consume it. */
  issuer: string
  clientId: string
  /** The DPoP key generated for this sign-in; the session's tokens are bound to it. */
  dpopKey?: CryptoKeyPair
  /** `max_age` sent on the authorization request (seconds). */
  maxAgeSeconds?: number
  /** The sign-in's `prompt`: with `'none'`, a "not signed in at the provider" answer is an outcome, not an error. */
  prompt?: string
  /** The sign-in runs in a popup: its callback page tells the opener and closes itself. */
  display?: 'popup'
}

/** The answers to a `prompt=none` sign-in that mean "no session at the provider" (OIDC Core §3.1.2.6). */
export type SilentSignInReason =
  'login_required' | 'interaction_required' | 'consent_required' | 'account_selection_required'
const SILENT_REASONS = new Set<string>([
  'login_required',
  'interaction_required',
  'consent_required',
  'account_selection_required',
])

/** What the session core asks of the provider. */
export interface Protocol {
  /** The authorization URL and the sign-in to keep until the callback (with a new DPoP key when `dpop` is on). */
  startSignIn(
    input: SignInOptions & { returnTo: string; display?: 'popup' },
  ): Promise<{ url: string; pending: PendingSignIn }>
  /**
   * Checks the callback (state, RFC 9207 `iss`, `error=`) and exchanges its code; a `prompt=none`
   * sign-in the provider could not complete silently resolves with the reason instead.
   */
  completeSignIn(
    params: URLSearchParams,
    pending: PendingSignIn,
  ): Promise<{ tokens: TokenSet; claims: UserClaims } | { silent: SilentSignInReason }>
  /** The refresh grant for `record` (for one API's token with `resource`), classified; new tokens keep what the answer left out. */
  refresh(record: SessionRecord, resource?: string): Promise<RefreshResult>
  /** Revokes a refresh token (RFC 7009); `false` when the provider offers no revocation. */
  revoke(refreshToken: string): Promise<boolean>
  /** The RP-initiated logout URL for a session that held `idToken`, if the provider has one. */
  endSessionUrl(idToken: string | undefined): Promise<string | undefined>
  /** Sends `request` with a DPoP-bound `accessToken` and a proof from the session's key. */
  dpopRequest(record: SessionRecord, accessToken: string, request: Request): Promise<Response>
  /** The userinfo claims for the session's user. */
  userInfo(record: SessionRecord): Promise<UserInfo>
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
  // Features load only for an app that uses them: DPoP, PAR, userinfo.
  let dpopSteps: Promise<typeof import('./dpop.js')> | undefined
  const dpop = () => (dpopSteps ??= import('./dpop.js'))

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
        return withOverrides(cached.as)
      }
      return withOverrides(await fetchMetadata())
    })()
    metadata.catch(() => (metadata = undefined))
    return metadata
  }

  async function fetchMetadata(): Promise<oauth.AuthorizationServer> {
    const as = await discover(config.issuer, transport)
    await store.set(config.metadataKey, { as, fetchedAt: env.now() }).catch(() => {})
    return as
  }

  /** The configured endpoints win over the discovery document's. */
  function withOverrides(as: oauth.AuthorizationServer): oauth.AuthorizationServer {
    const { revocation, endSession } = config.endpoints
    return {
      ...as,
      ...(revocation ? { revocation_endpoint: revocation } : {}),
      ...(endSession ? { end_session_endpoint: endSession } : {}),
    }
  }

  /** Keeps the discovery document that carries a freshly fetched key set (see verifyIdTokenSignature). */
  function adopt(current: oauth.AuthorizationServer, next: oauth.AuthorizationServer): void {
    if (next !== current) metadata = Promise.resolve(next)
  }

  async function dpopHandle(generation: string, keyPair: CryptoKeyPair | undefined) {
    if (!config.dpop || keyPair === undefined) return undefined
    const { createDpopHandle } = await dpop()
    if (proof?.generation !== generation) proof = { generation, handle: createDpopHandle(client(), keyPair) }
    return proof.handle
  }

  /** The token request parameter that names the API a token is for. */
  function resourceParameters(resource: string | undefined): Record<string, string> | undefined {
    return resource === undefined ? undefined : { [config.resourceParameter]: resource }
  }

  return {
    async startSignIn(input) {
      const as = await getMetadata()
      const steps = config.dpop ? await dpop() : undefined
      steps?.assertDpopSupported(as)
      const [{ params, transaction }, dpopKey] = await Promise.all([
        createAuthorizationRequest(as, config, { ...input, now: env.now() }),
        steps?.generateDpopKeyPair(),
      ])
      let url = authorizationUrl(as, params)
      if (shouldPush(as, config.par)) {
        const { pushAuthorizationRequest } = await import('./par.js')
        const handle = dpopKey && steps?.createDpopHandle(client(), dpopKey)
        url = await pushAuthorizationRequest(as, client(), params, transport, handle)
      }
      return { url, pending: pendingSignIn(transaction, params, dpopKey, input.display) }
    },

    async completeSignIn(params, pending) {
      const as = await getMetadata()
      let validated: URLSearchParams
      try {
        validated = validateCallback(as, client(), params, pending.state)
      } catch (error) {
        const answer = params.get('error')
        if (
          pending.prompt === 'none' &&
          isAuthError(error, 'authorization_error') &&
          SILENT_REASONS.has(answer ?? '')
        ) {
          return { silent: answer as SilentSignInReason }
        }
        throw error
      }
      const handle = pending.dpopKey && (await dpop()).createDpopHandle(client(), pending.dpopKey)
      const input = { ...pending, ...checks(), dpop: handle }
      const exchanged = await exchangeCode(as, client(), validated, input, transport)
      adopt(as, exchanged.as)
      return { tokens: tokenSetFromResponse(exchanged.response, env.now()), claims: exchanged.claims }
    },

    async refresh(record, resource) {
      const as = await getMetadata()
      const { tokens, claims, generation, dpopKey } = record
      const input = {
        refreshToken: tokens.refreshToken!,
        previous: claims,
        ...checks(),
        dpop: await dpopHandle(generation, dpopKey),
        parameters: resourceParameters(resource),
      }
      const outcome = await refreshGrant(as, client(), input, transport)
      if (outcome.kind !== 'refreshed') return outcome
      adopt(as, outcome.as)
      const refreshed = tokenSetFromResponse(outcome.response, env.now(), tokens)
      return { kind: 'refreshed', tokens: refreshed, claims: outcome.claims ?? claims }
    },

    async revoke(refreshToken) {
      return revokeToken(await getMetadata(), client(), refreshToken, transport)
    },

    async endSessionUrl(idToken) {
      const as = await getMetadata()
      const { clientId, postLogoutRedirectUri } = config
      return endSessionUrl(as, { clientId, idToken, postLogoutRedirectUri })
    },

    async dpopRequest(record, accessToken, request) {
      const handle = (await dpopHandle(record.generation, record.dpopKey))!
      return (await dpop()).dpopResourceRequest(handle, accessToken, request, env.fetch)
    },

    async userInfo(record) {
      const [as, { requestUserInfo }] = await Promise.all([getMetadata(), import('./userinfo.js')])
      const bound = record.tokens.tokenType === 'dpop'
      const handle = bound ? await dpopHandle(record.generation, record.dpopKey) : undefined
      const input = { accessToken: record.tokens.accessToken, subject: record.claims.sub, dpop: handle }
      return requestUserInfo(as, client(), input, transport)
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

  function pendingSignIn(
    transaction: SignInTransaction,
    params: URLSearchParams,
    dpopKey: CryptoKeyPair | undefined,
    display: 'popup' | undefined,
  ): PendingSignIn {
    const pending: PendingSignIn = { ...transaction, issuer: config.issuer.href, clientId: config.clientId }
    if (dpopKey) pending.dpopKey = dpopKey
    if (display) pending.display = display
    const prompt = params.get('prompt')
    if (prompt !== null) pending.prompt = prompt
    const maxAge = params.get('max_age')
    if (maxAge !== null && /^\d+$/.test(maxAge)) pending.maxAgeSeconds = Number(maxAge)
    return pending
  }
}

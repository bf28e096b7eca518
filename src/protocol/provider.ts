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
import { renewRejectedToken } from './challenge.js'
import { discover } from './discovery.js'
import type { AuthEnvironment } from '../platform/environment.js'
import { isAuthError } from '../platform/errors.js'
import { endSessionUrl, revokeToken } from './logout.js'
import { refreshGrant, type RefreshOutcome } from './refresh-grant.js'
import { sendResourceRequest, type ResourceAnswer, type ResourceRequestInit } from './resource-request.js'
import type { KeyValueStore } from '../platform/storage.js'
import { tokenSetFromResponse, type TokenSet, type UserClaims } from './token-set.js'
import { createTransport, type Transport } from './transport.js'
import { createMetadataCache, type MetadataCache } from './metadata-cache.js'
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
  /** `acr_values` sent on the authorization request: the ID token's `acr` must be one of them. */
  acrValues?: string[]
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

/**
 * The credentials of one sign-in, as a protocol step needs them: the tokens, the user they were
 * issued for, and the DPoP key they are bound to. `generation` names the sign-in: DPoP handles
 * (and the server nonces they learnt) are kept per sign-in.
 */
export interface Credentials {
  generation: string
  tokens: TokenSet
  claims: UserClaims
  dpopKey?: CryptoKeyPair | undefined
}

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
  /** The refresh grant for `credentials` (for one API's token with `resource`), classified; new tokens keep what the answer left out. */
  refresh(credentials: Credentials, resource?: string): Promise<RefreshResult>
  /** Revokes a refresh token (RFC 7009); `false` when the provider offers no revocation. */
  revoke(refreshToken: string): Promise<boolean>
  /** The RP-initiated logout URL for a session that held `idToken`, if the provider has one. */
  endSessionUrl(idToken: string | undefined): Promise<string | undefined>
  /**
   * Sends a request to a resource server at `url` with `token` (a DPoP-bound one with a proof from
   * the sign-in's key) and reads the challenge of its answer (see `sendResourceRequest`).
   */
  resourceRequest(
    credentials: Credentials,
    token: { accessToken: string; tokenType: string },
    url: string,
    init: ResourceRequestInit,
  ): Promise<ResourceAnswer>
  /**
   * The userinfo claims for the signed-in user. With `session`, a token the endpoint refuses
   * (`invalid_token`) is renewed through it once (see `renewRejectedToken`) and the call made once more.
   */
  userInfo(credentials: Credentials, session?: SessionTokens): Promise<UserInfo>
  /** Whether the provider answers at all (its discovery document), bypassing every cache. */
  answers(): Promise<boolean>
}

/** The session, as a step that must renew a refused access token sees it. */
export interface SessionTokens {
  current(): Credentials | undefined
  /** The session's token getter: single flight in the tab and across tabs; `force` refreshes regardless. */
  accessToken(options: { force: boolean }): Promise<string>
}

/** {@link RefreshOutcome}, with a `refreshed` answer turned into the session's new tokens and claims. */
export type RefreshResult =
  Exclude<RefreshOutcome, { kind: 'refreshed' }> | { kind: 'refreshed'; tokens: TokenSet; claims: UserClaims }

/** One client's binding of the steps: its configuration, clock, transport and discovery document. */
interface Bound {
  config: ResolvedConfig
  env: AuthEnvironment
  transport: Transport
  metadata: MetadataCache
  /** oauth4webapi's client metadata; `clockSkew` makes its clock agree with the injected `now()`. */
  client(): oauth.Client
  /** What the ID-token checks compare with: the client id, this client's clock, the tolerance. */
  checks(): { clientId: string; nowSeconds: number; toleranceSeconds: number }
  /** The DPoP steps, loaded only for an app that turns DPoP on. */
  dpop(): Promise<typeof import('./dpop.js')>
  /** The DPoP handle of a sign-in (one per generation: the handle remembers the servers' nonces). */
  dpopHandle(generation: string, keyPair: CryptoKeyPair | undefined): Promise<oauth.DPoPHandle | undefined>
}

/** Binds every protocol step to one client. */
export function createProtocol(config: ResolvedConfig, env: AuthEnvironment, store: KeyValueStore): Protocol {
  const transport = createTransport(config, env)
  let proof: { generation: string; handle: oauth.DPoPHandle } | undefined
  let dpopSteps: Promise<typeof import('./dpop.js')> | undefined
  const bound: Bound = {
    config,
    env,
    transport,
    metadata: createMetadataCache({ config, env, store, transport }),
    client: () => ({
      client_id: config.clientId,
      [oauth.clockSkew]: Math.round((env.now() - Date.now()) / 1000),
      [oauth.clockTolerance]: config.clockToleranceSeconds,
    }),
    checks: () => ({
      clientId: config.clientId,
      nowSeconds: Math.floor(env.now() / 1000),
      toleranceSeconds: config.clockToleranceSeconds,
    }),
    dpop: () => (dpopSteps ??= import('./dpop.js')),
    async dpopHandle(generation, keyPair) {
      if (!config.dpop || keyPair === undefined) return undefined
      const { createDpopHandle } = await bound.dpop()
      if (proof?.generation !== generation) proof = { generation, handle: createDpopHandle(bound.client(), keyPair) }
      return proof.handle
    },
  }
  return {
    startSignIn: (input) => startSignIn(bound, input),
    completeSignIn: (params, pending) => completeSignIn(bound, params, pending),
    refresh: (credentials, resource) => refresh(bound, credentials, resource),
    revoke: async (refreshToken) => revokeToken(await bound.metadata.get(), bound.client(), refreshToken, transport),
    async endSessionUrl(idToken) {
      const { clientId, postLogoutRedirectUri } = config
      return endSessionUrl(await bound.metadata.get(), { clientId, idToken, postLogoutRedirectUri })
    },
    async resourceRequest(credentials, { accessToken, tokenType }, url, init) {
      const dpop =
        tokenType === 'dpop' ? await bound.dpopHandle(credentials.generation, credentials.dpopKey) : undefined
      return sendResourceRequest(accessToken, url, init, { dpop, send: env.fetch })
    },
    userInfo: (credentials, session) => userInfo(bound, credentials, session),
    answers: () =>
      discover(config.issuer, transport).then(
        () => true,
        () => false,
      ),
  }
}

async function startSignIn(bound: Bound, input: Parameters<Protocol['startSignIn']>[0]) {
  const { config, env } = bound
  const as = await bound.metadata.get()
  const steps = config.dpop ? await bound.dpop() : undefined
  steps?.assertDpopSupported(as)
  const [{ params, transaction }, dpopKey] = await Promise.all([
    createAuthorizationRequest(as, config, { ...input, now: env.now() }),
    steps?.generateDpopKeyPair(),
  ])
  let url = authorizationUrl(as, params)
  if (shouldPush(as, config.par)) {
    const { pushAuthorizationRequest } = await import('./par.js')
    const handle = dpopKey && steps?.createDpopHandle(bound.client(), dpopKey)
    url = await pushAuthorizationRequest(as, bound.client(), params, bound.transport, handle)
  }
  return { url, pending: pendingSignIn(config, { transaction, params, dpopKey, display: input.display }) }
}

async function completeSignIn(
  bound: Bound,
  params: URLSearchParams,
  pending: PendingSignIn,
): ReturnType<Protocol['completeSignIn']> {
  const as = await bound.metadata.get()
  let validated: URLSearchParams
  try {
    validated = validateCallback(as, bound.client(), params, pending.state)
  } catch (error) {
    const answer = params.get('error') ?? ''
    const silent = pending.prompt === 'none' && isAuthError(error, 'authorization_error') && SILENT_REASONS.has(answer)
    if (silent) return { silent: answer as SilentSignInReason }
    throw error
  }
  const handle = pending.dpopKey && (await bound.dpop()).createDpopHandle(bound.client(), pending.dpopKey)
  const input = { ...pending, ...bound.checks(), dpop: handle }
  const exchanged = await exchangeCode(as, bound.client(), validated, input, bound.transport)
  bound.metadata.adopt(as, exchanged.as)
  return { tokens: tokenSetFromResponse(exchanged.response, bound.env.now()), claims: exchanged.claims }
}

async function refresh(bound: Bound, credentials: Credentials, resource: string | undefined): Promise<RefreshResult> {
  const as = await bound.metadata.get()
  const { tokens, claims, generation, dpopKey } = credentials
  const input = {
    refreshToken: tokens.refreshToken!,
    previous: claims,
    ...bound.checks(),
    dpop: await bound.dpopHandle(generation, dpopKey),
    // The token request parameter that names the API a token is for (RFC 8707 §2.2, or `audience`).
    parameters: resource === undefined ? undefined : { [bound.config.resourceParameter]: resource },
  }
  const outcome = await refreshGrant(as, bound.client(), input, bound.transport)
  if (outcome.kind !== 'refreshed') return outcome
  bound.metadata.adopt(as, outcome.as)
  const refreshed = tokenSetFromResponse(outcome.response, bound.env.now(), tokens)
  return { kind: 'refreshed', tokens: refreshed, claims: outcome.claims ?? claims }
}

async function userInfo(bound: Bound, credentials: Credentials, session?: SessionTokens): Promise<UserInfo> {
  try {
    return await askUserInfo(bound, credentials)
  } catch (error) {
    if (session === undefined || !isAuthError(error, 'token_rejected')) throw error
    const rejected = credentials.tokens.accessToken
    const renewed = await renewRejectedToken(rejected, {
      held: () => session.current()?.tokens.accessToken,
      accessToken: (options) => session.accessToken(options),
    })
    const current = session.current()
    if (renewed === undefined || current?.tokens.accessToken !== renewed) throw error
    return askUserInfo(bound, current)
  }
}

async function askUserInfo(bound: Bound, credentials: Credentials): Promise<UserInfo> {
  const [as, { requestUserInfo }] = await Promise.all([bound.metadata.get(), import('./userinfo.js')])
  const { tokens, claims, generation, dpopKey } = credentials
  const dpop = tokens.tokenType === 'dpop' ? await bound.dpopHandle(generation, dpopKey) : undefined
  const input = { accessToken: tokens.accessToken, subject: claims.sub, dpop }
  const answer = await requestUserInfo(as, bound.client(), input, bound.transport)
  bound.metadata.adopt(as, answer.as)
  return answer.claims
}

/** The sign-in to keep until the callback: the transaction, bound to this client, and what the callback must know. */
function pendingSignIn(
  config: ResolvedConfig,
  input: {
    transaction: SignInTransaction
    params: URLSearchParams
    dpopKey: CryptoKeyPair | undefined
    display: 'popup' | undefined
  },
): PendingSignIn {
  const { transaction, params, dpopKey, display } = input
  const pending: PendingSignIn = { ...transaction, issuer: config.issuer.href, clientId: config.clientId }
  if (dpopKey) pending.dpopKey = dpopKey
  if (display) pending.display = display
  const prompt = params.get('prompt')
  if (prompt !== null) pending.prompt = prompt
  const maxAge = params.get('max_age')
  if (maxAge !== null && /^\d+$/.test(maxAge)) pending.maxAgeSeconds = Number(maxAge)
  const acrValues = params.get('acr_values')?.split(' ').filter(Boolean)
  if (acrValues?.length) pending.acrValues = acrValues
  return pending
}

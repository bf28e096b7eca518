/**
 * The provider, as the session sees it: every protocol step over oauth4webapi, bound to one
 * client's configuration, clock, transport, discovery document and DPoP handles. The session core
 * only holds a promise of this module, so nothing of oauth4webapi is needed before a step is.
 */
import {
  authorizationUrl,
  createAuthorizationRequest,
  shouldPush,
  type SignInOptions,
  type SignInTransaction,
} from './authorize.js'
import { exchangeCode, validateCallback } from './callback.js'
import type { ResolvedConfig } from './config.js'
import type { AuthEnvironment } from '../platform/environment.js'
import { isAuthError } from '../platform/errors.js'
import { lazy } from '../platform/lazy.js'
import { createBinding, type Bound, type Credentials } from './binding.js'
import { endSessionUrl } from './logout.js'
import { createRefreshSteps, type RefreshSteps } from './refresh-steps.js'
import type { ResourceAnswer, ResourceRequestInit } from './resource-request.js'
import type { KeyValueStore } from '../platform/storage.js'
import { tokenSetFromResponse, type TokenSet, type UserClaims } from './token-set.js'
import type { UserInfo } from './userinfo.js'

export type { Credentials } from './binding.js'
export type { RefreshResult } from './refresh-steps.js'

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

/** What the session core asks of the provider. */
export interface Protocol extends RefreshSteps {
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
}

/** The session, as a step that must renew a refused access token sees it. */
export interface SessionTokens {
  current(): Credentials | undefined
  /** The session's token getter: single flight in the tab and across tabs; `force` refreshes regardless. */
  accessToken(options: { force: boolean }): Promise<string>
}

const parCode = lazy(() => import('./par.js'), 'the pushed-authorization code')
const userInfoCode = lazy(() => import('./userinfo.js'), 'the userinfo code')
/** Requests to resource servers and their challenges: auth.fetch and userinfo, not a sign-in or a refresh. */
const resourceCode = lazy(() => import('./resource-request.js'), 'the API request code')
const challengeCode = lazy(() => import('./challenge.js'), 'the API request code')

/** Binds every protocol step to one client. */
export function createProtocol(config: ResolvedConfig, env: AuthEnvironment, store: KeyValueStore): Protocol {
  const bound = createBinding(config, env, store)
  return {
    ...createRefreshSteps(bound),
    startSignIn: (input) => startSignIn(bound, input),
    completeSignIn: (params, pending) => completeSignIn(bound, params, pending),
    async endSessionUrl(idToken) {
      const { clientId, postLogoutRedirectUri } = config
      return endSessionUrl(await bound.metadata.get(), { clientId, idToken, postLogoutRedirectUri })
    },
    async resourceRequest(credentials, { accessToken, tokenType }, url, init) {
      const dpop =
        tokenType === 'dpop' ? await bound.dpopHandle(credentials.generation, credentials.dpopKey) : undefined
      const { sendResourceRequest } = await resourceCode.get()
      return sendResourceRequest(accessToken, url, init, { dpop, send: env.fetch })
    },
    userInfo: (credentials, session) => userInfo(bound, credentials, session),
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
    const { pushAuthorizationRequest } = await parCode.get()
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

async function userInfo(bound: Bound, credentials: Credentials, session?: SessionTokens): Promise<UserInfo> {
  try {
    return await askUserInfo(bound, credentials)
  } catch (error) {
    if (session === undefined || !isAuthError(error, 'token_rejected')) throw error
    const rejected = credentials.tokens.accessToken
    const { renewRejectedToken } = await challengeCode.get()
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
  const [as, { requestUserInfo }] = await Promise.all([bound.metadata.get(), userInfoCode.get()])
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

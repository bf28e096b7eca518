import * as oauth from 'oauth4webapi'
import type { AuthError } from '../platform/errors.js'
import type { UserClaims } from './token-set.js'
import { checkTokenResponse, toIdTokenError } from './token-response.js'
import { toAuthError, type ExchangeNotes } from './step-failure.js'
import { withDpopNonceRetry, type Transport } from './transport.js'

/** What a refresh needs besides the provider and the client. */
export interface RefreshInput {
  refreshToken: string
  /** The session's user: a refreshed ID token must name the same `iss` and `sub`. */
  previous: Pick<UserClaims, 'iss' | 'sub'>
  clientId: string
  nowSeconds: number
  toleranceSeconds: number
  dpop?: oauth.DPoPHandle | undefined
  /** Extra token request parameters: the API a token is for (`resource`, RFC 8707 §2.2, or `audience`). */
  parameters?: Record<string, string> | undefined
}

/** What may help after a failed refresh; see {@link RefreshOutcome}. */
export type RetryClass = 'never' | 'once' | 'backoff' | 'resource'

/**
 * How a refresh ended:
 * - `refreshed`: new tokens (and claims when the provider sent a new ID token), and the discovery
 *   document to use from now on;
 * - `failed`: the provider did not issue tokens; `retry` says what may help: `never` (the refresh
 *   token is dead: `invalid_grant`), `once` (the provider refuses this client or request: one more
 *   try, then the session ends), `backoff` (429, 5xx, HTML, network, timeout: try again later,
 *   not before `retryAfterMs` when the provider said so), `resource` (the provider refuses the token
 *   for that one API: the caller hears it, the session is untouched); `unanswered` when no answer came at all;
 * - `invalid`: the provider answered with tokens that fail validation (ID token, `token_type`,
 *   another user). It has replaced the refresh token (`replacedRefreshToken`, when it rotated), so
 *   the session cannot go on: the caller ends it and revokes what the provider issued.
 */
export type RefreshOutcome =
  | {
      kind: 'refreshed'
      response: oauth.TokenEndpointResponse
      claims: UserClaims | undefined
      as: oauth.AuthorizationServer
    }
  | {
      kind: 'failed'
      error: AuthError
      retry: RetryClass
      retryAfterMs?: number
      unanswered: boolean
    }
  | { kind: 'invalid'; error: AuthError; replacedRefreshToken: string | undefined }

/**
 * Runs the refresh token grant (RFC 6749 §6, OIDC Core §12). A refreshed ID token is validated
 * like the first one, its signature verified, and it must name the same `iss` and `sub` as the
 * session's (OIDC Core §12.2). With `dpop`, the request carries a proof with the session's key, is
 * retried once on `use_dpop_nonce`, and a token that is not DPoP-bound is refused. Never rejects:
 * every failure is classified in the {@link RefreshOutcome}.
 */
export async function refreshGrant(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  input: RefreshInput,
  transport: Transport,
): Promise<RefreshOutcome> {
  const seen: ExchangeNotes = {}
  let issued: Record<string, unknown> | undefined
  try {
    return await withDpopNonceRetry(async () => {
      const options = transport.options({ envelope: true, dpop: input.dpop, seen })
      const request = input.parameters ? { ...options, additionalParameters: input.parameters } : options
      const raw = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), input.refreshToken, request)
      issued = raw.ok ? await tokenBody(raw) : undefined
      const response = await oauth.processRefreshTokenResponse(as, client, raw)
      const checked = await checkTokenResponse(as, raw, response, input, transport)
      return { kind: 'refreshed' as const, response, claims: checked.claims, as: checked.as }
    })
  } catch (error) {
    const authError = toAuthError(toIdTokenError(error) ?? error, 'refreshing the session', seen)
    if (issued !== undefined) {
      const replaced = issued['refresh_token']
      return {
        kind: 'invalid',
        error: authError,
        replacedRefreshToken: typeof replaced === 'string' && replaced !== input.refreshToken ? replaced : undefined,
      }
    }
    return {
      kind: 'failed',
      error: authError,
      retry: retryOf(error, authError, input),
      ...retryAfter(seen),
      unanswered: isUnanswered(authError),
    }
  }
}

/** The body of a 2xx answer when it is a token response: the provider then processed the grant. */
async function tokenBody(raw: Response): Promise<Record<string, unknown> | undefined> {
  const body: unknown = await raw
    .clone()
    .json()
    .catch(() => undefined)
  if (typeof body !== 'object' || body === null) return undefined
  return 'access_token' in body || 'refresh_token' in body ? (body as Record<string, unknown>) : undefined
}

/** OAuth errors that refuse one API's token, not the session (RFC 8707 §2, RFC 6749 §5.2). */
const RESOURCE_ERRORS = new Set(['invalid_target', 'invalid_scope', 'access_denied'])

function retryOf(error: unknown, authError: AuthError, input: RefreshInput): RetryClass {
  if (error instanceof oauth.ResponseBodyError && error.error === 'invalid_grant') return 'never'
  if (input.parameters && error instanceof oauth.ResponseBodyError && RESOURCE_ERRORS.has(error.error))
    return 'resource'
  if (authError.code === 'client_rejected' || authError.code === 'grant_rejected') return 'once'
  return 'backoff'
}

function retryAfter(seen: ExchangeNotes): { retryAfterMs?: number } {
  return seen.retryAfterMs === undefined ? {} : { retryAfterMs: seen.retryAfterMs }
}

function isUnanswered(error: AuthError): boolean {
  return error.code === 'network_error'
}

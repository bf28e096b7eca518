import { redactCause } from './redaction.js'

/**
 * Every failure the library reports, as one closed union so `switch (error.code)` narrows.
 *
 * The codes are a public contract: they never change meaning, and new ones are only added.
 */
export type AuthErrorCode =
  /** The configuration is unusable (missing client id, malformed URL, a refused parameter, …). */
  | 'invalid_config'
  /** The issuer is plain `http:` and not a loopback host. */
  | 'insecure_issuer'
  /** `returnTo` is not a same-origin path. */
  | 'invalid_return_to'
  /** The discovery document names a different issuer than the one configured. */
  | 'issuer_mismatch'
  /** The URL handed to `handleRedirectCallback` carries no authorization response. */
  | 'not_a_callback'
  /** The provider answered the authorization request with `error=` (e.g. `access_denied`). */
  | 'authorization_error'
  /** The callback's RFC 9207 `iss` parameter is not the configured issuer. */
  | 'response_issuer_mismatch'
  /** The callback's `state` matches none of this browser's pending sign-ins. */
  | 'state_mismatch'
  /** No sign-in was started in this browser for this callback. */
  | 'transaction_not_found'
  /** The sign-in was started more than ten minutes ago. */
  | 'transaction_expired'
  /** This callback URL was already used once. */
  | 'callback_replayed'
  /** The callback belongs to a sign-in another client (issuer or client id) started; it is left for that client. */
  | 'transaction_client_mismatch'
  /** The ID token's claims are wrong (`iss`, `aud`, `azp`, `nonce`, `iat`, `auth_time`, `sub`). */
  | 'id_token_invalid'
  /** The ID token has expired (beyond the allowed clock tolerance). */
  | 'id_token_expired'
  /** The ID token's signature does not verify against the provider's JWKS. */
  | 'id_token_signature_invalid'
  /** The ID token is signed with an algorithm a browser must not accept (`HS*`, `none`). */
  | 'id_token_alg_unsupported'
  /** A refreshed ID token names another user than the session's (OIDC Core §12.2). */
  | 'subject_changed'
  /** The provider refused a grant: the code or refresh token is invalid, expired or revoked (`invalid_grant`, …). */
  | 'grant_rejected'
  /** The provider refused this client (`invalid_client`, `unauthorized_client`, `unsupported_grant_type`, HTTP 401/403). */
  | 'client_rejected'
  /** The provider answered 429 Too Many Requests; the library waits at least its `Retry-After`. */
  | 'rate_limited'
  /** The provider answered with a 5xx status. */
  | 'provider_unavailable'
  /** The provider answered with something that is not a valid protocol response (HTML, bad JSON, a missing field). */
  | 'invalid_response'
  /** With `dpop: true`, the provider issued a token that is not DPoP-bound (`token_type` is not `DPoP`). */
  | 'token_type_mismatch'
  /** The request never got an answer (offline, DNS, CORS, connection reset). */
  | 'network_error'
  /** The token endpoint keeps failing at the network level while the provider's other endpoints answer (CORS on its error answers). */
  | 'token_endpoint_unreachable'
  /** The provider did not answer within the configured time. */
  | 'timeout'
  /** The session store failed while reading or writing. */
  | 'storage_error'
  /** The stored session has an unknown version or shape; it was removed. */
  | 'session_unreadable'
  /** `dpop` is on but the provider does not advertise DPoP with ES256. */
  | 'dpop_unsupported'
  /** The session's DPoP key is missing or unreadable; the session cannot continue. */
  | 'dpop_key_unavailable'
  /** `auth.fetch` was asked to send a token to an origin outside `apiOrigins` (or to plain `http:` off loopback). */
  | 'origin_not_allowed'
  /** The userinfo endpoint answered for another user than the one signed in (OIDC Core §5.3.4). */
  | 'userinfo_subject_mismatch'
  /** The browser blocked the sign-in popup: call `signInWithPopup()` from a click, or fall back to `signIn()`. */
  | 'popup_blocked'
  /** The user closed the sign-in popup before signing in. */
  | 'popup_closed'
  /** The sign-in popup did not complete in time. */
  | 'popup_timeout'
  /** The call needs a signed-in user and there is none. */
  | 'not_signed_in'
  /** The client was disposed. */
  | 'disposed'
  /** A part of the library's code could not be loaded (offline, or a deploy removed the file); it is tried again at the next use. */
  | 'chunk_load_failed'
  /** A signed userinfo answer's signature does not verify against the provider's JWKS. */
  | 'userinfo_signature_invalid'
  /** A userinfo answer is signed with an algorithm other than RS256 or ES256 (`HS*`, `none`, …). */
  | 'userinfo_alg_unsupported'
  /** A signed userinfo answer's `iss` or `aud` is wrong or missing, or it has expired. */
  | 'userinfo_claims_invalid'
  /** The provider encrypts its userinfo answers (JWE), which a browser app cannot decrypt. */
  | 'userinfo_encrypted'
  /** A resource server (the userinfo endpoint, an API) refused the access token (`invalid_token`), also once refreshed. */
  | 'token_rejected'
  /** A resource server needs a scope the access token lacks (`insufficient_scope`); `scope` names it. */
  | 'insufficient_scope'
  /** A resource server asks for a stronger or more recent sign-in (RFC 9470); `acrValues` and `maxAge` say which. */
  | 'step_up_required'
  /** The ID token's `acr` is none of the `acr_values` the sign-in asked for (a step-up that did not happen). */
  | 'acr_not_satisfied'
  /** The app's own `onRedirectCallback` threw or rejected; the sign-in itself succeeded. */
  | 'redirect_callback_failed'
  /** Something failed in the library or the page, not at the provider (a bug, a `TypeError`, a `DataCloneError`): report it. */
  | 'unexpected'

/**
 * Options of {@link AuthError}: `cause` keeps the oauth4webapi error or the server's response; the
 * other fields are the data an app can branch on without reading the message.
 */
export interface AuthErrorOptions {
  cause?: unknown
  /** The provider's OAuth `error` (RFC 6749 §4.1.2.1, §5.2), e.g. `invalid_grant`, `access_denied`. */
  oauthError?: string | undefined
  /** The HTTP status of the provider's answer. */
  status?: number | undefined
  /** How long the provider asked to wait before asking again (`Retry-After`, RFC 9110 §10.2.3), ms. */
  retryAfterMs?: number | undefined
  /** With `insufficient_scope`: the scope the server asked for (space-separated, RFC 6750 §3). */
  scope?: string | undefined
  /** With `step_up_required`: the `acr_values` the server asked for (space-separated, RFC 9470 §3). */
  acrValues?: string | undefined
  /** With `step_up_required`: the `max_age` the server asked for, in seconds (RFC 9470 §3). */
  maxAge?: number | undefined
}

/** The data fields of an {@link AuthError}, where known. */
const DATA_FIELDS = ['oauthError', 'status', 'retryAfterMs', 'scope', 'acrValues', 'maxAge'] as const

const brand = Symbol.for('spa-auth.AuthError')

/**
 * The one error class of spa-auth. `code` is stable; `message` tells a person what to do next;
 * `cause` keeps the underlying oauth4webapi error or the provider's `error`/`error_description`,
 * with every credential taken out (see {@link redactCause}), so logging an error never leaks a token.
 * `oauthError`, `status` and `retryAfterMs` are there when the provider's answer told them.
 */
export class AuthError<Code extends AuthErrorCode = AuthErrorCode> extends Error {
  override readonly name = 'AuthError'
  readonly code: Code
  // `declare`d: an error that carries none of these has no such property at all.
  /** The provider's OAuth `error` (e.g. `invalid_grant`, `access_denied`), when it sent one. */
  declare readonly oauthError?: string
  /** The HTTP status of the provider's answer, when there was one. */
  declare readonly status?: number
  /** How long the provider asked to wait (`Retry-After`), ms, when it said so. */
  declare readonly retryAfterMs?: number
  /** With `insufficient_scope`: the scope the server asked for, to request at the next sign-in. */
  declare readonly scope?: string
  /** With `step_up_required`: the `acr_values` to send at the next sign-in (`signIn({ authorizeParams })`). */
  declare readonly acrValues?: string
  /** With `step_up_required`: the `max_age` (seconds) to send at the next sign-in. */
  declare readonly maxAge?: number

  constructor(code: Code, message: string, options?: AuthErrorOptions) {
    super(message, options && 'cause' in options ? { cause: cleanCause(options.cause) } : undefined)
    this.code = code
    for (const field of DATA_FIELDS) {
      const value = options?.[field]
      if (value !== undefined) Object.defineProperty(this, field, { value, enumerable: true })
    }
    Object.defineProperty(this, brand, { value: true })
  }
}

/** A redacted copy of `cause`; another AuthError is clean already, and stays recognisable as one. */
function cleanCause(cause: unknown): unknown {
  return isAuthError(cause) ? cause : redactCause(cause)
}

/**
 * Whether `value` is an {@link AuthError}, optionally with the given code (and then narrowed to
 * it). Works across realms (iframes, duplicated bundles), where `instanceof` does not.
 */
export function isAuthError<Code extends AuthErrorCode>(value: unknown, code: Code): value is AuthError<Code>
export function isAuthError(value: unknown): value is AuthError
export function isAuthError(value: unknown, code?: AuthErrorCode): value is AuthError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true &&
    (code === undefined || (value as AuthError).code === code)
  )
}

/**
 * `error` itself when it is an {@link AuthError}, else an AuthError with `code` that keeps it
 * (redacted) as its `cause`; without `code`, an `unexpected` one (see {@link unexpectedError}).
 */
export function asAuthError(error: unknown, code?: AuthErrorCode): AuthError {
  if (isAuthError(error)) return error
  return code === undefined ? unexpectedError(error) : new AuthError(code, String(error), { cause: error })
}

/**
 * The error for a failure that is no answer of the provider's — a bug, a `TypeError`, a
 * `DataCloneError` — with `failure` as its cause; `action` names what was being done.
 */
export function unexpectedError(failure: unknown, action?: string): AuthError {
  const during = action === undefined ? '' : ` while ${action}`
  return new AuthError(
    'unexpected',
    `Something failed${during} that is not the provider's fault (${summary(failure)}). It is a bug in spa-auth or in this page: please report it, with this error's cause.`,
    { cause: failure },
  )
}

/** `Name: message` of an error, or the value as text; never throws. */
function summary(failure: unknown): string {
  try {
    return failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure)
  } catch {
    return 'an unreadable error'
  }
}

/**
 * `not_signed_in`: the call needs a signed-in user. `why` says what is missing (default "Nobody is
 * signed in"); the message then tells to sign in.
 */
export function notSignedIn(why = 'Nobody is signed in'): AuthError<'not_signed_in'> {
  return new AuthError('not_signed_in', `${why}; call signIn() first.`)
}

/** `not_signed_in`: the session's access token expired, and the provider issued no refresh token to get another. */
export function expiredWithoutRefreshToken(): AuthError<'not_signed_in'> {
  return new AuthError('not_signed_in', 'The session expired and the provider issued no refresh token; sign in again.')
}

/** `dpop_key_unavailable`: the DPoP key the session's tokens are bound to is gone (site data cleared). */
export function dpopKeyUnavailable(): AuthError<'dpop_key_unavailable'> {
  return new AuthError('dpop_key_unavailable', 'The DPoP key this session is bound to is gone. Sign in again.')
}

/** An {@link AuthError} as plain, structured-cloneable data: what crosses a channel, a worker port or the store. */
export interface AuthErrorData extends Omit<AuthErrorOptions, 'cause'> {
  code: AuthErrorCode
  message: string
}

/** `error` as {@link AuthErrorData} (its cause stays behind: it need not be cloneable). */
export function errorData(error: AuthError): AuthErrorData {
  const data: AuthErrorData = { code: error.code, message: error.message }
  for (const field of DATA_FIELDS) if (error[field] !== undefined) Object.assign(data, { [field]: error[field] })
  return data
}

/** The {@link AuthError} that {@link errorData} made `data` of, in this tab or worker. */
export function reviveAuthError(data: AuthErrorData): AuthError {
  const options: AuthErrorOptions = {}
  for (const field of DATA_FIELDS) {
    const value = data[field]
    if (typeof value === (field === 'status' || field === 'retryAfterMs' || field === 'maxAge' ? 'number' : 'string')) {
      Object.assign(options, { [field]: value })
    }
  }
  return new AuthError(data.code, data.message, options)
}

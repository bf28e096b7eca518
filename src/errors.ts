/**
 * Every failure the library reports, as one closed union so `switch (error.code)` narrows.
 *
 * The codes are a public contract: they never change meaning, and new ones are only added.
 */
export type AuthErrorCode =
  /** The configuration is unusable (missing client id, malformed URL, …). */
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
  /** The ID token's claims are wrong (`iss`, `aud`, `azp`, `nonce`, `iat`, `sub`). */
  | 'id_token_invalid'
  /** The ID token has expired (beyond the allowed clock tolerance). */
  | 'id_token_expired'
  /** The ID token's signature does not verify against the provider's JWKS. */
  | 'id_token_signature_invalid'
  /** The ID token is signed with an algorithm a browser must not accept (`HS*`, `none`). */
  | 'id_token_alg_unsupported'
  /** A refreshed ID token names another user than the session's (OIDC Core §12.2). */
  | 'subject_changed'
  /** The provider explicitly rejected a grant (`invalid_grant`, `invalid_client`, …). */
  | 'grant_rejected'
  /** The provider answered with a 5xx status. */
  | 'provider_unavailable'
  /** The provider answered with something that is not a valid protocol response (HTML, bad JSON). */
  | 'invalid_response'
  /** The request never got an answer (offline, DNS, CORS, connection reset). */
  | 'network_error'
  /** The provider did not answer within the configured time. */
  | 'timeout'
  /** The session store failed while reading or writing. */
  | 'storage_error'
  /** `dpop` is on but the provider does not advertise DPoP with ES256. */
  | 'dpop_unsupported'
  /** The session's DPoP key is missing or unreadable; the session cannot continue. */
  | 'dpop_key_unavailable'
  /** The call needs a signed-in user and there is none. */
  | 'not_signed_in'
  /** The client was disposed. */
  | 'disposed'

/** Options of {@link AuthError}: `cause` keeps the oauth4webapi error or the server's response. */
export interface AuthErrorOptions {
  cause?: unknown
}

const brand = Symbol.for('spa-auth.AuthError')

/**
 * The one error class of spa-auth. `code` is stable; `message` tells a person what to do next;
 * `cause` keeps the underlying oauth4webapi error or the provider's `error`/`error_description`.
 */
export class AuthError extends Error {
  override readonly name = 'AuthError'
  readonly code: AuthErrorCode

  constructor(code: AuthErrorCode, message: string, options?: AuthErrorOptions) {
    super(message, options)
    this.code = code
    Object.defineProperty(this, brand, { value: true })
  }
}

/**
 * Whether `value` is an {@link AuthError}, optionally with the given code. Works across realms
 * (iframes, duplicated bundles), where `instanceof` does not.
 */
export function isAuthError(value: unknown, code?: AuthErrorCode): value is AuthError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true &&
    (code === undefined || (value as AuthError).code === code)
  )
}

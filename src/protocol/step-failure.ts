/**
 * How a failed protocol step becomes an {@link AuthError}: by oauth4webapi's error classes and
 * codes and what the transport noted of the answer, never by message text — and cleaned of every
 * credential the step's requests carried, wherever the provider echoed it.
 */
import * as oauth from 'oauth4webapi'
import { AuthError, errorData, isAuthError, unexpectedError, type AuthErrorOptions } from '../platform/errors.js'
import { redactCause, scrubSecrets } from '../platform/redaction.js'

/**
 * What the transport noted of one protocol step — its requests (a DPoP nonce retry makes two) and
 * the last answer — for classifying its failure and cleaning it: what oauth4webapi's errors do not keep.
 */
export interface ExchangeNotes {
  status?: number
  /** `Retry-After` in milliseconds, when the provider sent one. */
  retryAfterMs?: number
  /**
   * The credentials the requests carried (secret form fields, `Authorization`, `DPoP`): the step's
   * error holds none of them, wherever the provider echoes them (see `toAuthError`).
   */
  credentials?: Set<string>
}

/** OAuth error codes that say the provider refuses this client, not this one grant (RFC 6749 §5.2). */
const CLIENT_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'unsupported_grant_type'])

/**
 * Translates a failure of an oauth4webapi step into an {@link AuthError}, by oauth4webapi's error
 * classes and codes; `action` names the step for the message ("exchanging the sign-in code") and
 * `seen` what the transport noted of it. An AuthError passes through; a failure that is no answer
 * of the provider's is `unexpected`. Either way, the error holds none of the credentials the step's
 * requests carried.
 */
export function toAuthError(error: unknown, action: string, seen: ExchangeNotes = {}): AuthError {
  return withoutSecrets(classify(error, action, seen), seen.credentials ?? [])
}

function classify(error: unknown, action: string, seen: ExchangeNotes): AuthError {
  if (isAuthError(error)) return error
  if (error instanceof oauth.ResponseBodyError) {
    const code = CLIENT_ERRORS.has(error.error) ? 'client_rejected' : 'grant_rejected'
    return new AuthError(code, `The provider rejected ${action} with "${error.error}"${detailOf(error)}.`, {
      cause: error,
      oauthError: error.error,
      status: error.status,
    })
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    const oauthError = error.cause[0]?.parameters.error
    return new AuthError('client_rejected', `The provider refused ${action} (HTTP ${error.status}).`, {
      cause: error,
      status: error.status,
      ...(oauthError === undefined ? {} : { oauthError }),
    })
  }
  if (error instanceof oauth.AuthorizationResponseError) {
    return new AuthError(
      'authorization_error',
      `The provider did not authorize the sign-in ("${error.error}"${detailOf(error)}).`,
      { cause: error, oauthError: error.error },
    )
  }
  if (seen.status === 401 || seen.status === 403) {
    return new AuthError(
      'client_rejected',
      `The provider refused ${action} with HTTP ${seen.status} and no OAuth error (a firewall, or a client the provider does not accept).`,
      { cause: error, status: seen.status },
    )
  }
  // oauth4webapi reports what is wrong with an answer with these two classes; anything else (a
  // TypeError, a DOMException from WebCrypto or structured cloning) failed on this side.
  if (error instanceof oauth.OperationProcessingError || error instanceof oauth.UnsupportedOperationError) {
    return new AuthError(
      'invalid_response',
      `The provider's answer while ${action} is not a valid OAuth response: ${error.message}.`,
      { cause: error, ...(seen.status === undefined ? {} : { status: seen.status }) },
    )
  }
  return unexpectedError(error, action)
}

/** `: <error_description>` of an OAuth error answer, without its closing punctuation; '' without one. */
function detailOf(error: { error_description?: string | undefined }): string {
  return error.error_description ? `: ${error.error_description.replace(/[.!?]+$/, '')}` : ''
}

/**
 * `error` with none of `secrets` — the credentials a request carried — anywhere in its message,
 * its data or its cause chain, substrings and percent-encoded forms included: a provider may echo
 * what it was sent (a gateway's error page, an `error_description` quoting the request). `error`
 * itself when there is no secret to take out.
 */
export function withoutSecrets(error: AuthError, secrets: Iterable<string>): AuthError {
  const list = [...secrets].filter((secret) => secret !== '')
  if (list.length === 0) return error
  const { code, message, ...data } = errorData(error)
  const options: AuthErrorOptions = {}
  for (const [field, value] of Object.entries(data)) {
    Object.assign(options, { [field]: typeof value === 'string' ? scrubSecrets(value, list) : value })
  }
  if ('cause' in error) {
    options.cause = isAuthError(error.cause) ? withoutSecrets(error.cause, list) : redactCause(error.cause, list)
  }
  return new AuthError(code, scrubSecrets(message, list), options)
}

/** `invalid_response`: the discovery document of `issuer` lacks `field` (e.g. `userinfo_endpoint`). */
export function missingEndpoint(issuer: string, field: string): AuthError<'invalid_response'> {
  return new AuthError(
    'invalid_response',
    `${issuer} has no ${field} in its discovery document; the provider does not offer what this call needs.`,
  )
}

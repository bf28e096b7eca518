/**
 * What a token response must satisfy beyond oauth4webapi's own checks: the ID token's signature
 * (with a key set re-fetched for a key never seen), the claims oauth4webapi leaves to the
 * application, and the DPoP binding. Shared by the code exchange and the refresh.
 */
import * as oauth from 'oauth4webapi'
import { AuthError } from '../platform/errors.js'
import type { UserClaims } from './token-set.js'
import type { Transport } from './transport.js'

/**
 * Checks a token response oauth4webapi has processed, for what it leaves to the application: the
 * ID token's signature (see {@link verifyIdTokenSignature}) and claims (see
 * {@link checkIdTokenClaims}) when there is an ID token, and with `dpop` that the token is
 * DPoP-bound. Resolves the ID token's claims and the discovery document to use from now on.
 *
 * @throws AuthError the codes of the three checks, and the transport codes.
 */
export async function checkTokenResponse(
  as: oauth.AuthorizationServer,
  raw: Response,
  response: oauth.TokenEndpointResponse,
  expected: ExpectedClaims & { dpop?: oauth.DPoPHandle | undefined },
  transport: Transport,
): Promise<{ claims: UserClaims | undefined; as: oauth.AuthorizationServer }> {
  const claims = oauth.getValidatedIdTokenClaims(response)
  const verifiedBy = claims ? await verifyIdTokenSignature(as, raw, transport) : as
  if (claims) checkIdTokenClaims(claims, expected)
  if (expected.dpop && response.token_type !== 'dpop') throw tokenTypeMismatch(response.token_type)
  return { claims, as: verifiedBy }
}

/**
 * Verifies the signature of the ID token in a processed token response against the provider's
 * JWKS (oauth4webapi leaves it to us). A `kid` the cached key set has never seen makes one
 * immediate re-fetch: oauth4webapi re-fetches only a copy older than 60 s, and a provider that
 * rotates its signing key between two refreshes must not end the session. Resolves the discovery
 * document to use from now on (a copy that carries the new key set when one was fetched).
 *
 * @throws AuthError `id_token_signature_invalid`, `id_token_alg_unsupported`, and the transport codes.
 */
async function verifyIdTokenSignature(
  as: oauth.AuthorizationServer,
  raw: Response,
  transport: Transport,
): Promise<oauth.AuthorizationServer> {
  try {
    await oauth.validateApplicationLevelSignature(as, raw, transport.options())
    return as
  } catch (error) {
    if (!isUnseenKey(error)) throw error
  }
  // oauth4webapi caches key sets per discovery object: a copy starts with none.
  const fresh = { ...as }
  await oauth.validateApplicationLevelSignature(fresh, raw, transport.options())
  return fresh
}

function isUnseenKey(error: unknown): boolean {
  if (!(error instanceof oauth.OperationProcessingError) || error.code !== oauth.KEY_SELECTION) return false
  const cause = error.cause as { header?: { kid?: unknown }; candidates?: unknown[] } | undefined
  return typeof cause?.header?.kid === 'string' && cause.candidates?.length === 0
}

/** What the ID token's claims are checked against; `previous` is the session's user, for a refresh. */
interface ExpectedClaims {
  clientId: string
  nowSeconds: number
  toleranceSeconds: number
  previous?: Pick<UserClaims, 'iss' | 'sub'> | undefined
}

/**
 * The checks oauth4webapi leaves to the application (OIDC Core §3.1.3.7): `iat` no further in the
 * future than the clock tolerance, `azp` equal to the client id whenever present (not only with
 * several audiences), and for a refreshed ID token the same `iss` and `sub` as the session's
 * (§12.2; oauth4webapi does not compare them).
 *
 * @throws AuthError `id_token_invalid`, or `subject_changed` for another user.
 */
function checkIdTokenClaims(claims: UserClaims, expected: ExpectedClaims): void {
  if (typeof claims.iat === 'number' && claims.iat > expected.nowSeconds + expected.toleranceSeconds) {
    throw new AuthError(
      'id_token_invalid',
      `The ID token's "iat" claim lies ${claims.iat - expected.nowSeconds} s in the future, beyond the ${expected.toleranceSeconds} s clock tolerance, so it was refused. Check this device's clock (or raise clockToleranceSeconds).`,
    )
  }
  if (claims['azp'] !== undefined && claims['azp'] !== expected.clientId) {
    throw new AuthError(
      'id_token_invalid',
      `The ID token was issued to another client (azp "${String(claims['azp'])}", not "${expected.clientId}"), so it was refused. Check that clientId matches the provider's application.`,
    )
  }
  const previous = expected.previous
  if (previous && (claims.iss !== previous.iss || claims.sub !== previous.sub)) {
    throw new AuthError(
      'subject_changed',
      `The refreshed ID token names ${claims.iss} / ${claims.sub}, but the session belongs to ${previous.iss} / ${previous.sub}. The session was ended; sign in again.`,
    )
  }
}

/**
 * Names an ID-token failure oauth4webapi reported, by its error class, code and the structured
 * `cause` it attaches; `undefined` for anything else.
 */
export function toIdTokenError(error: unknown): AuthError | undefined {
  const cause = (error as { cause?: Record<string, unknown> } | undefined)?.cause
  const header = cause?.['header'] as { alg?: unknown } | undefined
  const alg = cause?.['alg'] ?? header?.alg
  const unsupported = error instanceof oauth.UnsupportedOperationError && typeof alg === 'string'
  const unexpected = error instanceof oauth.OperationProcessingError && typeof alg === 'string' && 'expected' in cause!
  if (unsupported || unexpected) {
    const what =
      alg === 'none'
        ? 'sent an unsigned ID token (alg "none")'
        : `signed the ID token with ${String(alg)}, which a browser cannot verify safely`
    return new AuthError(
      'id_token_alg_unsupported',
      `The provider ${what}. Set the application's ID-token signing algorithm to RS256 (or ES256) at the provider.`,
      { cause: error },
    )
  }
  if (!(error instanceof oauth.OperationProcessingError)) return undefined
  const claim = typeof cause?.['claim'] === 'string' ? cause['claim'] : undefined
  if (error.code === oauth.JWT_TIMESTAMP_CHECK && claim === 'exp') {
    return new AuthError(
      'id_token_expired',
      "The provider sent an ID token that has already expired. Check that this device's clock is right, then sign in again.",
      { cause: error },
    )
  }
  if (error.code === oauth.JWT_TIMESTAMP_CHECK || error.code === oauth.JWT_CLAIM_COMPARISON) {
    const advice = ['iss', 'aud', 'azp'].includes(claim ?? '')
      ? "Check that issuer and clientId match the provider's application."
      : claim === 'auth_time'
        ? 'The sign-in is older than max_age allows; sign in again.'
        : 'The token was not issued for this sign-in; sign in again.'
    return new AuthError(
      'id_token_invalid',
      `The ID token's "${claim ?? 'a'}" claim is wrong (${error.message}), so it was refused. ${advice}`,
      {
        cause: error,
      },
    )
  }
  const signatureFailed = cause !== undefined && 'signature' in cause && 'key' in cause
  if (error.code === oauth.KEY_SELECTION || signatureFailed) {
    return new AuthError(
      'id_token_signature_invalid',
      `The ID token's signature does not verify against the provider's published keys (${error.message}); it was refused.`,
      { cause: error },
    )
  }
  return undefined
}

/** With DPoP on, a bearer token is a downgrade (RFC 9449 §5): the error that refuses it. */
function tokenTypeMismatch(tokenType: string): AuthError {
  return new AuthError(
    'token_type_mismatch',
    `dpop is on, but the provider issued a "${tokenType}" token instead of a DPoP-bound one. Turn DPoP on for this client at the provider, or set dpop: false.`,
  )
}

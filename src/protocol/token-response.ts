/**
 * What a token response must satisfy beyond oauth4webapi's own checks: the ID token's signature
 * (with a key set re-fetched for a key never seen), the claims oauth4webapi leaves to the
 * application, and the DPoP binding. Shared by the code exchange and the refresh.
 */
import * as oauth from 'oauth4webapi'
import { AuthError } from '../platform/errors.js'
import { classifyJwtFailure, verifySignature } from './signed-jwt.js'
import type { UserClaims } from './token-set.js'
import type { Transport } from './transport.js'

/**
 * Checks a token response oauth4webapi has processed, for what it leaves to the application: the
 * ID token's signature (see {@link verifySignature}) and claims (see
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
  const verifiedBy = claims ? await verifySignature(as, raw, transport) : as
  if (claims) checkIdTokenClaims(claims, expected)
  if (expected.dpop && response.token_type !== 'dpop') throw tokenTypeMismatch(response.token_type)
  return { claims, as: verifiedBy }
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
 * Names an ID-token failure oauth4webapi reported (see {@link classifyJwtFailure}); `undefined`
 * for anything else.
 */
export function toIdTokenError(error: unknown): AuthError | undefined {
  const failure = classifyJwtFailure(error)
  switch (failure?.kind) {
    case 'algorithm': {
      const what =
        failure.alg === 'none'
          ? 'sent an unsigned ID token (alg "none")'
          : `signed the ID token with ${failure.alg}, which a browser cannot verify safely`
      return new AuthError(
        'id_token_alg_unsupported',
        `The provider ${what}. Set the application's ID-token signing algorithm to RS256 (or ES256) at the provider.`,
        { cause: error },
      )
    }
    case 'expired':
      return new AuthError(
        'id_token_expired',
        "The provider sent an ID token that has already expired. Check that this device's clock is right, then sign in again.",
        { cause: error },
      )
    case 'claim': {
      const { claim } = failure
      const advice = ['iss', 'aud', 'azp'].includes(claim ?? '')
        ? "Check that issuer and clientId match the provider's application."
        : claim === 'auth_time'
          ? 'The sign-in is older than max_age allows; sign in again.'
          : 'The token was not issued for this sign-in; sign in again.'
      return new AuthError(
        'id_token_invalid',
        `The ID token's "${claim ?? 'a'}" claim is wrong (${failure.detail}), so it was refused. ${advice}`,
        { cause: error },
      )
    }
    case 'signature':
      return new AuthError(
        'id_token_signature_invalid',
        `The ID token's signature does not verify against the provider's published keys (${failure.detail}); it was refused.`,
        { cause: error },
      )
    default:
      return undefined
  }
}

/** With DPoP on, a bearer token is a downgrade (RFC 9449 §5): the error that refuses it. */
function tokenTypeMismatch(tokenType: string): AuthError {
  return new AuthError(
    'token_type_mismatch',
    `dpop is on, but the provider issued a "${tokenType}" token instead of a DPoP-bound one. Turn DPoP on for this client at the provider, or set dpop: false.`,
  )
}

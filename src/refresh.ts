import * as oauth from 'oauth4webapi'
import { AuthError } from './errors.js'
import type { UserClaims } from './token-set.js'
import { toAuthError, withDpopNonceRetry, type Transport } from './transport.js'

/**
 * Runs the refresh token grant (RFC 6749 §6, OIDC Core §12). A refreshed ID token is validated
 * like the first one, its signature verified, and it must name the same `iss` and `sub` as the
 * session's (OIDC Core §12.2; oauth4webapi does not compare `sub`). With `dpop`, the request
 * carries a proof with the session's key and is retried once on `use_dpop_nonce`.
 *
 * @throws AuthError `grant_rejected` (the provider refused: `invalid_grant` ends the session),
 *   `subject_changed`, the ID-token codes, and the transport codes (which keep the session).
 */
export async function refreshGrant(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  refreshToken: string,
  previous: Pick<UserClaims, 'iss' | 'sub'>,
  transport: Transport,
  dpop?: oauth.DPoPHandle,
): Promise<{ response: oauth.TokenEndpointResponse; claims: UserClaims | undefined }> {
  let response: oauth.TokenEndpointResponse
  let claims: UserClaims | undefined
  try {
    ;({ response, claims } = await withDpopNonceRetry(async () => {
      const raw = await oauth.refreshTokenGrantRequest(
        as,
        client,
        oauth.None(),
        refreshToken,
        transport.options(true, dpop),
      )
      const processed = await oauth.processRefreshTokenResponse(as, client, raw)
      const validated = oauth.getValidatedIdTokenClaims(processed)
      if (validated) await oauth.validateApplicationLevelSignature(as, raw, transport.options())
      return { response: processed, claims: validated }
    }))
  } catch (error) {
    throw toAuthError(error, 'refreshing the session')
  }
  if (claims && (claims.iss !== previous.iss || claims.sub !== previous.sub)) {
    throw new AuthError(
      'subject_changed',
      `The refreshed ID token names ${claims.iss} / ${claims.sub}, but the session belongs to ${previous.iss} / ${previous.sub}. The session was ended; sign in again.`,
    )
  }
  return { response, claims }
}

/** Whether `error` is the provider's explicit refusal of the refresh token (it is gone for good). */
export function isRefreshTokenRejected(error: unknown): boolean {
  const cause = (error as { cause?: unknown } | undefined)?.cause
  return cause instanceof oauth.ResponseBodyError && cause.error === 'invalid_grant'
}

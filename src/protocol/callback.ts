import * as oauth from 'oauth4webapi'
import { AuthError } from '../platform/errors.js'
import type { UserClaims } from './token-set.js'
import { checkTokenResponse, toIdTokenError } from './token-response.js'
import { toAuthError, type ExchangeNotes } from './step-failure.js'
import { withDpopNonceRetry, type Transport } from './transport.js'

/**
 * Checks the authorization response against the transaction's `state` and the issuer (RFC 9207),
 * then turns an `error=` response into an error (RFC 6749 §4.1.2.1).
 *
 * @throws AuthError `response_issuer_mismatch` when `iss` is missing where the provider advertises
 *   it, or names another issuer — its message also carries the provider's `error` and
 *   `error_description` when the response is an error; `state_mismatch`; `authorization_error`.
 */
export function validateCallback(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  params: URLSearchParams,
  expectedState: string,
): URLSearchParams {
  try {
    return oauth.validateAuthResponse(as, client, params, expectedState)
  } catch (error) {
    // oauth4webapi reports both checks with the same code (INVALID_RESPONSE); which one failed is
    // read from the response itself, not from its message.
    const iss = params.get('iss')
    const issuerWrong =
      (iss === null && as.authorization_response_iss_parameter_supported === true) ||
      (iss !== null && iss !== as.issuer)
    if (error instanceof oauth.OperationProcessingError && issuerWrong) {
      const refused =
        iss === null
          ? `The sign-in response has no "iss" although ${as.issuer} announces it (RFC 9207 mix-up protection), so it was refused.`
          : `The sign-in response claims to come from ${JSON.stringify(iss)}, not from ${as.issuer}. It was refused (RFC 9207 mix-up protection).`
      const oauthError = params.get('error')
      throw new AuthError('response_issuer_mismatch', `${refused}${providerSaid(params)} Sign in again.`, {
        cause: error,
        ...(oauthError === null ? {} : { oauthError }),
      })
    }
    if (error instanceof oauth.OperationProcessingError && params.get('state') !== expectedState) {
      throw new AuthError(
        'state_mismatch',
        'The sign-in response does not belong to the sign-in this browser started. Sign in again.',
        { cause: error },
      )
    }
    throw toAuthError(error, 'the sign-in')
  }
}

/** What the code exchange needs from the sign-in transaction and the client. */
export interface ExchangeInput {
  redirectUri: string
  codeVerifier: string
  nonce: string
  /** The `max_age` the authorization request carried (seconds): `auth_time` must then be recent enough. */
  maxAgeSeconds?: number | undefined
  /** The `acr_values` the authorization request carried: the ID token's `acr` must then be one of them. */
  acrValues?: string[] | undefined
  clientId: string
  /** This client's clock, epoch seconds, and the tolerance for the ID token's `iat`. */
  nowSeconds: number
  toleranceSeconds: number
  /** With DPoP on: the handle of the key the tokens must be bound to. */
  dpop?: oauth.DPoPHandle | undefined
}

/**
 * The `error` and `error_description` of an error response, for a message that refuses it anyway:
 * some providers (django-oauth-toolkit) leave `iss` off their error redirects, and the real cause
 * (`invalid_scope`, …) would otherwise be hidden behind the mix-up refusal.
 */
function providerSaid(params: URLSearchParams): string {
  const error = params.get('error')
  if (error === null) return ''
  const description = params.get('error_description')
  const detail = description === null ? '' : ` — ${JSON.stringify(description)}`
  return ` It is an error response, which is likely the real cause (the provider said: ${JSON.stringify(error)}${detail}).`
}

/**
 * Exchanges the one-time code for tokens (RFC 6749 §4.1.3 with the PKCE verifier, RFC 7636 §4.5),
 * validates the ID token's claims (OIDC Core §3.1.3.7: `nonce`, `azp`, `iat`, `auth_time` when
 * `max_age` was asked, `acr` when `acr_values` were) and verifies its signature against the
 * provider's JWKS. With `dpop`, the request carries a DPoP proof (RFC 9449 §5), is retried once on
 * `use_dpop_nonce`, and a token that is not DPoP-bound is refused. Resolves the discovery document
 * to use from now on (see `checkTokenResponse`).
 *
 * @throws AuthError `grant_rejected`, `client_rejected`, `token_type_mismatch`, `id_token_invalid`,
 *   `id_token_expired`, `id_token_signature_invalid`, `id_token_alg_unsupported`,
 *   `acr_not_satisfied`, and the transport codes.
 */
export async function exchangeCode(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  params: URLSearchParams,
  input: ExchangeInput,
  transport: Transport,
): Promise<{ response: oauth.TokenEndpointResponse; claims: UserClaims; as: oauth.AuthorizationServer }> {
  const seen: ExchangeNotes = {}
  try {
    return await withDpopNonceRetry(async () => {
      const request = transport.options({ envelope: true, dpop: input.dpop, seen })
      const raw = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        oauth.None(),
        params,
        input.redirectUri,
        input.codeVerifier,
        request,
      )
      const response = await oauth.processAuthorizationCodeResponse(as, client, raw, {
        expectedNonce: input.nonce,
        requireIdToken: true,
        ...(input.maxAgeSeconds === undefined ? {} : { maxAge: input.maxAgeSeconds }),
      })
      const checked = await checkTokenResponse(as, raw, response, input, transport)
      // requireIdToken: oauth4webapi has refused an answer without one.
      const claims = checked.claims!
      if (input.acrValues) assertAcr(claims, input.acrValues)
      return { response, claims, as: checked.as }
    })
  } catch (error) {
    throw toAuthError(toIdTokenError(error) ?? error, 'exchanging the sign-in code', seen)
  }
}

/**
 * A sign-in that asked for `acr_values` — a step-up an API asked for (RFC 9470) — is only what it
 * claims when the ID token's `acr` is one of them: the values are a voluntary request (OIDC Core
 * §3.1.2.1), and a provider that cannot meet them signs the user in at the level it can.
 *
 * @throws AuthError `acr_not_satisfied`.
 */
function assertAcr(claims: UserClaims, acrValues: readonly string[]): void {
  const { acr } = claims
  if (typeof acr === 'string' && acrValues.includes(acr)) return
  const got = typeof acr === 'string' ? `with acr "${acr}"` : 'without an "acr" claim'
  throw new AuthError(
    'acr_not_satisfied',
    `The provider signed the user in ${got}, which is none of the acr_values this sign-in asked for ("${acrValues.join(' ')}"): the stronger sign-in did not happen, so it was refused. Check that the provider offers these values (acr_values_supported).`,
  )
}

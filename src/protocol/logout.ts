import * as oauth from 'oauth4webapi'
import { toAuthError, type ExchangeNotes } from './step-failure.js'
import type { Transport } from './transport.js'

/**
 * Revokes `token` at the provider (RFC 7009). Resolves `false` when the provider offers no
 * revocation endpoint, `true` once it confirmed.
 *
 * @throws AuthError the transport codes, or `grant_rejected` when the provider refuses.
 */
export async function revokeToken(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  token: string,
  transport: Transport,
): Promise<boolean> {
  if (as.revocation_endpoint === undefined) return false
  const seen: ExchangeNotes = {}
  try {
    const response = await oauth.revocationRequest(as, client, oauth.None(), token, {
      ...transport.options({ seen }),
      additionalParameters: { token_type_hint: 'refresh_token' },
    })
    await oauth.processRevocationResponse(response)
    return true
  } catch (error) {
    throw toAuthError(error, 'revoking the refresh token', seen)
  }
}

/**
 * The RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0 §2) with `id_token_hint`,
 * `client_id` and, when configured, `post_logout_redirect_uri`; `undefined` when the provider
 * has no `end_session_endpoint`.
 */
export function endSessionUrl(
  as: oauth.AuthorizationServer,
  input: { clientId: string; idToken: string | undefined; postLogoutRedirectUri: string | undefined },
): string | undefined {
  if (as.end_session_endpoint === undefined) return undefined
  const url = new URL(as.end_session_endpoint)
  url.searchParams.set('client_id', input.clientId)
  if (input.idToken !== undefined) url.searchParams.set('id_token_hint', input.idToken)
  if (input.postLogoutRedirectUri !== undefined)
    url.searchParams.set('post_logout_redirect_uri', input.postLogoutRedirectUri)
  return url.href
}

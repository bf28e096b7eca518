import * as oauth from 'oauth4webapi'
import { toAuthError, type ExchangeNotes } from './step-failure.js'
import { withDpopNonceRetry, type Transport } from './transport.js'

/**
 * Pushes the authorization request's `params` to the provider (RFC 9126 §2) and returns the
 * authorization URL that carries only `client_id` and the `request_uri` it answered. With `dpop`,
 * the push carries a proof, which binds the code to the key (RFC 9449 §10), and is retried once on
 * `use_dpop_nonce`.
 *
 * @throws AuthError `grant_rejected` or `client_rejected` when the provider refuses the request, and the transport codes.
 */
export async function pushAuthorizationRequest(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  params: URLSearchParams,
  transport: Transport,
  dpop?: oauth.DPoPHandle,
): Promise<string> {
  const seen: ExchangeNotes = {}
  try {
    const pushed = await withDpopNonceRetry(async () => {
      const response = await oauth.pushedAuthorizationRequest(
        as,
        client,
        oauth.None(),
        params,
        transport.options({ dpop, seen }),
      )
      return oauth.processPushedAuthorizationResponse(as, client, response)
    })
    const url = new URL(as.authorization_endpoint!)
    url.searchParams.set('client_id', client.client_id)
    url.searchParams.set('request_uri', pushed.request_uri)
    return url.href
  } catch (error) {
    throw toAuthError(error, 'pushing the authorization request', seen)
  }
}

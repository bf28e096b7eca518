import * as oauth from 'oauth4webapi'
import type { ResolvedConfig } from './config.js'
import { AuthError } from './errors.js'
import { toAuthError, withDpopNonceRetry, type ResponseMeta, type Transport } from './transport.js'

/**
 * Whether this sign-in pushes its request (RFC 9126): always when the provider requires it,
 * never when the app said `'never'` (then a provider that requires it is an error), else when
 * discovery lists the endpoint (`'auto'`) or the app asked for it (`'always'`).
 *
 * @throws AuthError `invalid_config` when `par` contradicts what the provider offers or requires.
 */
export function shouldPush(as: oauth.AuthorizationServer, mode: ResolvedConfig['par']): boolean {
  const offered = typeof as.pushed_authorization_request_endpoint === 'string'
  const required = as.require_pushed_authorization_requests === true
  if (mode === 'never' && required) {
    throw new AuthError('invalid_config', `${as.issuer} requires pushed authorization requests; remove par: 'never'.`)
  }
  if (mode === 'always' && !offered) {
    throw new AuthError(
      'invalid_config',
      `par is 'always', but ${as.issuer} lists no pushed_authorization_request_endpoint. Turn PAR on at the provider, or set par: 'auto'.`,
    )
  }
  return required || (mode !== 'never' && offered)
}

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
  const seen: ResponseMeta = {}
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

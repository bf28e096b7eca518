import * as oauth from 'oauth4webapi'
import { AuthError } from '../platform/errors.js'
import { toAuthError } from './step-failure.js'
import { type Transport } from './transport.js'

/**
 * Fetches the provider's OpenID Connect discovery document (OIDC Discovery §4) and checks that it
 * names exactly the configured issuer (§4.3).
 *
 * @throws AuthError `issuer_mismatch` when the document names another issuer; `network_error`,
 *   `timeout`, `provider_unavailable` or `invalid_response` when it cannot be read.
 */
export async function discover(issuer: URL, transport: Transport): Promise<oauth.AuthorizationServer> {
  try {
    const response = await oauth.discoveryRequest(issuer, { ...transport.options(), algorithm: 'oidc' })
    return await oauth.processDiscoveryResponse(issuer, response)
  } catch (error) {
    if (error instanceof oauth.OperationProcessingError && error.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
      const found = (error.cause as { body?: { issuer?: unknown } } | undefined)?.body?.issuer
      throw new AuthError(
        'issuer_mismatch',
        `The discovery document at ${issuer.href} names the issuer "${String(found)}". Set \`issuer\` to exactly the provider's issuer (scheme, host, path, no trailing slash difference).`,
        { cause: error },
      )
    }
    throw toAuthError(error, 'reading the discovery document')
  }
}

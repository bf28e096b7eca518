import * as oauth from 'oauth4webapi'
import { AuthError } from '../platform/errors.js'

/**
 * Generates the session's DPoP key pair (RFC 9449 §2): P-256 for ES256, with a private key that is
 * not extractable, so no script — ours, the app's, or an injected one — can read it out; it can
 * only be stored (structured clone into IndexedDB) and used to sign.
 */
export function generateDpopKeyPair(): Promise<CryptoKeyPair> {
  return oauth.generateKeyPair('ES256', { extractable: false })
}

/**
 * Checks that the provider accepts ES256 DPoP proofs (`dpop_signing_alg_values_supported`).
 *
 * @throws AuthError `dpop_unsupported`.
 */
export function assertDpopSupported(as: oauth.AuthorizationServer): void {
  const algs = as.dpop_signing_alg_values_supported
  if (!Array.isArray(algs) || !algs.includes('ES256')) {
    throw new AuthError(
      'dpop_unsupported',
      `dpop is on, but ${as.issuer} does not advertise DPoP with ES256 (dpop_signing_alg_values_supported). Enable DPoP at the provider, or set dpop: false (Authing, for one, has no DPoP).`,
    )
  }
}

/** The oauth4webapi DPoP handle for `keyPair`: it signs the proofs and remembers server nonces per origin. */
export function createDpopHandle(client: oauth.Client, keyPair: CryptoKeyPair): oauth.DPoPHandle {
  return oauth.DPoP(client, keyPair)
}

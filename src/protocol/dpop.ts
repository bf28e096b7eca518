import * as oauth from 'oauth4webapi'
import { isLoopback } from './config.js'
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

/** A request to a resource server as `fetch` options: headers a copy to add to, the body read once. */
export type ResourceRequestInit = RequestInit & { headers: Headers; body: ArrayBuffer | null }

/**
 * Sends a request to a resource server, `init` as `fetch` takes it, with `Authorization: DPoP
 * <token>` and a proof bound to the token (`ath`, RFC 9449 §7), retrying once when the server asks
 * for a nonce (§9). Like `fetch`, it resolves with any HTTP answer, including a 401 with its
 * `WWW-Authenticate` challenge.
 */
export async function dpopResourceRequest(
  handle: oauth.DPoPHandle,
  accessToken: string,
  href: string,
  init: ResourceRequestInit,
  send: (url: string, init: RequestInit) => Promise<Response>,
): Promise<Response> {
  const url = new URL(href)
  const attempt = () =>
    oauth.protectedResourceRequest(accessToken, init.method ?? 'GET', url, new Headers(init.headers), init.body, {
      DPoP: handle,
      [oauth.allowInsecureRequests]: url.protocol === 'http:' && isLoopback(url),
      // oauth4webapi asks for redirect: 'manual'; a resource call keeps the app's own fetch options,
      // with the method and headers (authorization, proof) oauth4webapi sends.
      [oauth.customFetch]: (target, sent) => send(target, { ...init, method: sent.method, headers: sent.headers }),
    })
  try {
    return await attempt()
  } catch (error) {
    if (oauth.isDPoPNonceError(error)) {
      try {
        return await attempt()
      } catch (retryError) {
        if (retryError instanceof oauth.WWWAuthenticateChallengeError) return retryError.response
        throw retryError
      }
    }
    if (error instanceof oauth.WWWAuthenticateChallengeError) return error.response
    throw error
  }
}

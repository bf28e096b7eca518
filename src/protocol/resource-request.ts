import * as oauth from 'oauth4webapi'
import { readChallenge, type Challenge } from './challenge.js'
import { isLoopback } from './config.js'
import { withDpopNonceRetry } from './transport.js'

/** A request to a resource server as `fetch` options: headers a copy to add to, the body read once. */
export type ResourceRequestInit = RequestInit & { headers: Headers; body: ArrayBuffer | null }

/** A resource server's answer, and what its `WWW-Authenticate` challenge asks for when it has one to act on. */
export interface ResourceAnswer {
  response: Response
  challenge: Challenge | undefined
}

/**
 * Sends a request to a resource server, `init` as `fetch` takes it, with `Authorization: Bearer
 * <token>` (RFC 6750 §2.1), or with `dpop` `Authorization: DPoP <token>` and a proof bound to the
 * token (`ath`, RFC 9449 §7), retried once when the server asks for a nonce (§9). The request
 * leaves with the app's own method, headers, body and fetch options. Like `fetch`, it resolves with
 * any HTTP answer, a 401 included, and reads its challenge (see {@link readChallenge}).
 */
export async function sendResourceRequest(
  accessToken: string,
  href: string,
  init: ResourceRequestInit,
  options: {
    dpop?: oauth.DPoPHandle | undefined
    send(url: string, init: RequestInit): Promise<Response>
  },
): Promise<ResourceAnswer> {
  const url = new URL(href)
  const headers = new Headers(init.headers)
  // The credentials are ours to set (oauth4webapi refuses an Authorization header it did not make).
  headers.delete('authorization')
  headers.delete('dpop')
  const attempt = () =>
    oauth.protectedResourceRequest(accessToken, init.method ?? 'GET', url, new Headers(), init.body, {
      ...(options.dpop ? { DPoP: options.dpop } : {}),
      [oauth.allowInsecureRequests]: url.protocol === 'http:' && isLoopback(url),
      // oauth4webapi builds the credentials (and asks for redirect: 'manual'); the request keeps
      // the app's headers and fetch options, with only the Authorization and DPoP headers added.
      [oauth.customFetch]: (target, sent) => options.send(target, { ...init, headers: withCredentials(headers, sent) }),
    })
  try {
    // Once more when a DPoP resource server asks for a nonce (bearer requests have none to ask for).
    return { response: await (options.dpop ? withDpopNonceRetry(attempt) : attempt()), challenge: undefined }
  } catch (error) {
    if (!(error instanceof oauth.WWWAuthenticateChallengeError)) throw error
    return { response: error.response, challenge: readChallenge(error.cause) }
  }
}

/** `headers` with the Authorization (and DPoP proof) header of what oauth4webapi `sent`. */
function withCredentials(headers: Headers, sent: oauth.CustomFetchOptions<string, unknown>): Headers {
  const copy = new Headers(headers)
  const credentials = new Headers(sent.headers)
  for (const name of ['authorization', 'dpop']) {
    const value = credentials.get(name)
    if (value !== null) copy.set(name, value)
  }
  return copy
}

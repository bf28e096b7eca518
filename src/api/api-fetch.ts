import { isLoopback, type ResolvedConfig } from '../protocol/config.js'
import type { ResourceRequestInit } from '../protocol/dpop.js'
import type { AuthEnvironment } from '../platform/environment.js'
import { AuthError } from '../platform/errors.js'
import type { Protocol } from '../protocol/provider.js'
import type { Session } from '../session/session.js'
import { tokensFor } from '../session/record.js'

/**
 * `auth.fetch`: `fetch` with an access token attached, to the allow-listed origins only
 * (`apiOrigins`, default the page's own), never to plain `http:` off loopback. An origin mapped to
 * a resource gets that API's own token (RFC 8707). The request keeps its method, headers, body and
 * options; a DPoP-bound token goes with a proof (RFC 9449 §7).
 *
 * @throws AuthError `origin_not_allowed` before anything is sent; `not_signed_in` and the refresh codes.
 */
/** `fetch`'s signature: what `auth.fetch` is. */
export type ApiFetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>

export function createApiFetch(deps: {
  config: Pick<ResolvedConfig, 'apiOrigins'>
  env: Pick<AuthEnvironment, 'fetch' | 'currentUrl'>
  session: Pick<Session, 'accessToken' | 'current' | 'end'>
  protocol(): Promise<Protocol>
}): ApiFetch {
  const { config, env, session } = deps
  return async (input, init) => {
    const page = new URL(env.currentUrl())
    const request =
      input instanceof Request ? new Request(input, init) : new Request(new URL(String(input), page).href, init)
    const url = new URL(request.url)
    const apis = config.apiOrigins ?? new Map([[page.origin, undefined]])
    assertAllowed(url, apis)
    const resource = apis.get(url.origin)
    const accessToken = await session.accessToken({ force: false, resource })
    const record = session.current()
    const tokens = record && tokensFor(record, resource)
    const sent = await initOf(request)
    if (record !== undefined && tokens?.tokenType === 'dpop') {
      if (record.dpopKey === undefined) {
        const error = new AuthError(
          'dpop_key_unavailable',
          'The DPoP key this session is bound to is gone. Sign in again.',
        )
        await session.end('dpop-key-lost', error)
        throw error
      }
      return (await deps.protocol()).dpopRequest(record, accessToken, request.url, sent)
    }
    sent.headers.set('authorization', `Bearer ${accessToken}`)
    return env.fetch(request.url, sent)
  }
}

/**
 * `request` as `fetch` options (its headers a copy to add to, its body read once), for the bearer
 * and the DPoP path alike. A URL and options, not a `Request`: some hosts' `fetch` (happy-dom's,
 * for one) drop the headers of a copied `Request`.
 */
async function initOf(request: Request): Promise<ResourceRequestInit> {
  const { method, credentials, mode, cache, redirect, referrerPolicy, integrity, keepalive, signal } = request
  const body = method === 'GET' || method === 'HEAD' ? null : await request.arrayBuffer()
  const headers = new Headers(request.headers)
  return { method, headers, body, credentials, mode, cache, redirect, referrerPolicy, integrity, keepalive, signal }
}

function assertAllowed(url: URL, allowed: ReadonlyMap<string, string | undefined>): void {
  if (!allowed.has(url.origin)) {
    const listed = [...allowed.keys()].join(', ')
    throw new AuthError(
      'origin_not_allowed',
      `auth.fetch sends the access token only to the origins in apiOrigins (${listed}); ${url.origin} is not one. Add it to apiOrigins if it is your API, or use plain fetch.`,
    )
  }
  if (url.protocol === 'http:' && !isLoopback(url)) {
    throw new AuthError(
      'origin_not_allowed',
      `auth.fetch never sends a token over plain http: to ${url.origin}; use HTTPS.`,
    )
  }
}

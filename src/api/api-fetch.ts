import { challengeError, renewRejectedToken } from '../protocol/challenge.js'
import { isLoopback, type ResolvedConfig } from '../protocol/config.js'
import type { ResourceAnswer, ResourceRequestInit } from '../protocol/resource-request.js'
import type { AuthEnvironment } from '../platform/environment.js'
import { AuthError, dpopKeyUnavailable, notSignedIn } from '../platform/errors.js'
import type { Protocol } from '../protocol/provider.js'
import type { Session } from '../session/session.js'
import { tokensFor } from '../session/record.js'

/** `fetch`'s signature: what `auth.fetch` is. */
export type ApiFetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>

/**
 * `auth.fetch`: `fetch` with an access token attached, to the allow-listed origins only
 * (`apiOrigins`, default the page's own), never to plain `http:` off loopback. An origin mapped to
 * a resource gets that API's own token (RFC 8707). The request keeps its method, headers, body and
 * options; a DPoP-bound token goes with a proof (RFC 9449 §7).
 *
 * The API's challenge is answered (RFC 6750 §3, RFC 9449 §7.1): `invalid_token` → one refresh
 * (shared by every caller and tab; none when the session already holds a newer token) and the
 * request sent once more, its body held; a second refusal resolves as it came.
 *
 * @throws AuthError `origin_not_allowed` before anything is sent; `insufficient_scope` (with
 *   `scope`) and `step_up_required` (with `acrValues`, `maxAge`, RFC 9470) for those challenges;
 *   `not_signed_in`, `dpop_key_unavailable` and the refresh codes.
 */
export function createApiFetch(deps: {
  config: Pick<ResolvedConfig, 'apiOrigins'>
  env: Pick<AuthEnvironment, 'fetch' | 'currentUrl'>
  session: Pick<Session, 'accessToken' | 'current' | 'end'>
  protocol(): Promise<Protocol>
}): ApiFetch {
  const { config, env, session } = deps

  /** Sends the request with `accessToken` (the session's for `resource`, unless given). */
  async function send(url: string, sent: ResourceRequestInit, resource: string | undefined, accessToken?: string) {
    const token = accessToken ?? (await session.accessToken({ force: false, resource }))
    const record = session.current()
    const tokenType = (record && tokensFor(record, resource))?.tokenType ?? 'bearer'
    if (record === undefined) throw notSignedIn()
    if (tokenType === 'dpop' && record.dpopKey === undefined) {
      const error = dpopKeyUnavailable()
      await session.end('dpop-key-lost', error)
      throw error
    }
    const answer = await (await deps.protocol()).resourceRequest(record, { accessToken: token, tokenType }, url, sent)
    return { answer, token }
  }

  return async (input, init) => {
    const page = new URL(env.currentUrl())
    const request =
      input instanceof Request ? new Request(input, init) : new Request(new URL(String(input), page).href, init)
    const url = new URL(request.url)
    const apis = config.apiOrigins ?? new Map([[page.origin, undefined]])
    assertAllowed(url, apis)
    const resource = apis.get(url.origin)
    // The body is read once and held: the request can go out again after a refresh.
    const sent = await initOf(request)
    const first = await send(request.url, sent, resource)
    if (first.answer.challenge?.error !== 'invalid_token') return settle(first.answer, url)
    const renewed = await renewRejectedToken(first.token, {
      held: () => {
        const record = session.current()
        return record && tokensFor(record, resource)?.accessToken
      },
      accessToken: ({ force }) => session.accessToken({ force, resource }),
    })
    if (renewed === undefined) return first.answer.response
    // One retry per call: a second invalid_token resolves as the API sent it.
    return settle((await send(request.url, sent, resource, renewed)).answer, url)
  }
}

/** The API's answer, or the error for a challenge only a new sign-in can satisfy. */
function settle({ response, challenge }: ResourceAnswer, url: URL): Response {
  if (challenge === undefined || challenge.error === 'invalid_token') return response
  throw challengeError(challenge, url.origin, { status: response.status, challenge })
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

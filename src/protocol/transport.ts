import * as oauth from 'oauth4webapi'
import type { ResolvedConfig } from './config.js'
import type { AuthEnvironment } from '../platform/environment.js'
import { AuthError, isAuthError, unexpectedError } from '../platform/errors.js'

/** The oauth4webapi request options every protocol step passes on. */
export type RequestOptions = oauth.HttpRequestOptions<'GET' | 'POST', URLSearchParams | undefined> &
  oauth.DPoPRequestOptions

/** What the transport saw of the last answer to one request: what oauth4webapi's errors do not keep. */
export interface ResponseMeta {
  status?: number
  /** `Retry-After` in milliseconds, when the provider sent one. */
  retryAfterMs?: number
}

/** How one request goes out. */
export interface RequestShape {
  /** Unwrap Authing's `{statusCode, data}` body (token endpoint only). */
  envelope?: boolean
  /** Add a DPoP proof (RFC 9449) signed by this handle. */
  dpop?: oauth.DPoPHandle | undefined
  /** Filled with the status and `Retry-After` of the answer, for classifying a failure. */
  seen?: ResponseMeta
}

/**
 * How the protocol steps reach the provider: the fetch to use, the time limit, loopback `http:`,
 * and the translation of every transport failure into an {@link AuthError}.
 */
export interface Transport {
  options(shape?: RequestShape): RequestOptions
}

/** Retry-After is honoured up to this long; a provider asking for more is asked again after it. */
const MAX_RETRY_AFTER_MS = 10 * 60_000

/** Builds the {@link Transport} for one client. */
export function createTransport(
  config: Pick<ResolvedConfig, 'requestTimeoutMs' | 'allowHttp'>,
  env: Pick<AuthEnvironment, 'fetch' | 'setTimeout' | 'clearTimeout'>,
): Transport {
  async function send(url: string, init: oauth.CustomFetchOptions<string, unknown>, shape: RequestShape) {
    const origin = new URL(url).origin
    const controller = new AbortController()
    const timer = env.setTimeout(() => controller.abort(), config.requestTimeoutMs)
    let response: Response
    try {
      const received = await env.fetch(url, { ...init, body: init.body as BodyInit | null, signal: controller.signal })
      // The body is read inside the time limit too: a provider that sends headers and then
      // stalls would otherwise hold a refresh, and with it the cross-tab lock, forever.
      const body = received.status === 204 || received.status === 304 ? null : await received.arrayBuffer()
      response = new Response(body, {
        status: received.status,
        statusText: received.statusText,
        headers: received.headers,
      })
    } catch (cause) {
      if (controller.signal.aborted) {
        throw new AuthError(
          'timeout',
          `${origin} did not answer within ${config.requestTimeoutMs} ms. Try again; raise requestTimeoutMs if the provider is slow.`,
          { cause },
        )
      }
      throw new AuthError(
        'network_error',
        `Could not reach ${origin}: the browser is offline, the provider is down, or CORS blocks this origin.`,
        { cause },
      )
    } finally {
      env.clearTimeout(timer)
    }
    const meta = metaOf(response)
    if (shape.seen) {
      delete shape.seen.retryAfterMs
      Object.assign(shape.seen, meta)
    }
    if (response.status === 429) {
      throw new AuthError(
        'rate_limited',
        `${origin} answered 429 Too Many Requests; the library waits before asking again.`,
        meta,
      )
    }
    if (response.status >= 500) {
      const body = await response.text()
      throw new AuthError(
        'provider_unavailable',
        `${origin} answered ${response.status}. This is a problem at the provider; try again later.`,
        { ...meta, cause: { status: response.status, body: body.slice(0, 500) } },
      )
    }
    return shape.envelope ? unwrapEnvelope(response) : response
  }
  return {
    options(shape = {}) {
      return {
        [oauth.customFetch]: (url: string, init: oauth.CustomFetchOptions<string, unknown>) => send(url, init, shape),
        [oauth.allowInsecureRequests]: config.allowHttp,
        ...(shape.dpop ? { DPoP: shape.dpop } : {}),
      } as RequestOptions
    },
  }
}

/** The status of `response`, and its `Retry-After` (RFC 9110 §10.2.3) in ms when it has one. */
function metaOf(response: Response): ResponseMeta {
  const meta: ResponseMeta = { status: response.status }
  const header = response.headers.get('retry-after')
  if (header === null) return meta
  const delayMs = /^\d+$/.test(header.trim()) ? Number(header) * 1000 : Date.parse(header) - Date.now()
  if (Number.isFinite(delayMs) && delayMs > 0) meta.retryAfterMs = Math.min(delayMs, MAX_RETRY_AFTER_MS)
  return meta
}

/**
 * Runs a token request once more when the provider answers `use_dpop_nonce` (RFC 9449 §8): the
 * DPoP handle has then learned the nonce, and the second proof carries it.
 */
export async function withDpopNonceRetry<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request()
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error
    return request()
  }
}

/**
 * Authing's `/api/v3` login APIs wrap the token response as `{statusCode, message, requestId, data}`
 * (the "获取 Token" page documents that shape). Unwrap it into the standard body oauth4webapi expects;
 * a standard body passes through untouched.
 */
async function unwrapEnvelope(response: Response): Promise<Response> {
  if (!/json/i.test(response.headers.get('content-type') ?? '')) return response
  let body: unknown
  try {
    body = await response.clone().json()
  } catch {
    return response
  }
  if (
    typeof body !== 'object' ||
    body === null ||
    !('statusCode' in body) ||
    'access_token' in body ||
    'error' in body
  ) {
    return response
  }
  const { statusCode, message, data } = body as { statusCode: unknown; message?: unknown; data?: unknown }
  const headers = { 'content-type': 'application/json' }
  if (statusCode === 200 && typeof data === 'object' && data !== null) {
    return new Response(JSON.stringify(data), { status: 200, headers })
  }
  const status = typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 ? statusCode : 400
  const description = typeof message === 'string' ? message : `Authing answered statusCode ${String(statusCode)}`
  return new Response(JSON.stringify({ error: 'invalid_request', error_description: description }), {
    status,
    headers,
  })
}

/** OAuth error codes that say the provider refuses this client, not this one grant (RFC 6749 §5.2). */
const CLIENT_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'unsupported_grant_type'])

/**
 * Translates a failure of an oauth4webapi step into an {@link AuthError}, by oauth4webapi's error
 * classes and codes; `action` names the step for the message ("exchanging the sign-in code") and
 * `seen` what the transport saw of the answer. AuthErrors pass through unchanged; a failure that
 * is no answer of the provider's is `unexpected`.
 */
export function toAuthError(error: unknown, action: string, seen: ResponseMeta = {}): AuthError {
  if (isAuthError(error)) return error
  if (error instanceof oauth.ResponseBodyError) {
    const code = CLIENT_ERRORS.has(error.error) ? 'client_rejected' : 'grant_rejected'
    return new AuthError(code, `The provider rejected ${action} with "${error.error}"${detailOf(error)}.`, {
      cause: error,
      oauthError: error.error,
      status: error.status,
    })
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    const oauthError = error.cause[0]?.parameters.error
    return new AuthError('client_rejected', `The provider refused ${action} (HTTP ${error.status}).`, {
      cause: error,
      status: error.status,
      ...(oauthError === undefined ? {} : { oauthError }),
    })
  }
  if (error instanceof oauth.AuthorizationResponseError) {
    return new AuthError(
      'authorization_error',
      `The provider did not authorize the sign-in ("${error.error}"${detailOf(error)}).`,
      { cause: error, oauthError: error.error },
    )
  }
  if (seen.status === 401 || seen.status === 403) {
    return new AuthError(
      'client_rejected',
      `The provider refused ${action} with HTTP ${seen.status} and no OAuth error (a firewall, or a client the provider does not accept).`,
      { cause: error, status: seen.status },
    )
  }
  // oauth4webapi reports what is wrong with an answer with these two classes; anything else (a
  // TypeError, a DOMException from WebCrypto or structured cloning) failed on this side.
  if (error instanceof oauth.OperationProcessingError || error instanceof oauth.UnsupportedOperationError) {
    return new AuthError(
      'invalid_response',
      `The provider's answer while ${action} is not a valid OAuth response: ${error.message}.`,
      { cause: error, ...(seen.status === undefined ? {} : { status: seen.status }) },
    )
  }
  return unexpectedError(error, action)
}

/** `: <error_description>` of an OAuth error answer, without its closing punctuation; '' without one. */
function detailOf(error: { error_description?: string | undefined }): string {
  return error.error_description ? `: ${error.error_description.replace(/[.!?]+$/, '')}` : ''
}

import * as oauth from 'oauth4webapi'
import type { ResolvedConfig } from './config.js'
import type { AuthEnvironment } from '../platform/environment.js'
import { AuthError, isAuthError } from '../platform/errors.js'
import { isSecretName, scrubSecrets } from '../platform/redaction.js'
import { withoutSecrets, type ExchangeNotes } from './step-failure.js'

/** The oauth4webapi request options every protocol step passes on. */
export type RequestOptions = oauth.HttpRequestOptions<'GET' | 'POST', URLSearchParams | undefined> &
  oauth.DPoPRequestOptions

/** How one request goes out. */
export interface RequestShape {
  /** Unwrap Authing's `{statusCode, data}` body (token endpoint only). */
  envelope?: boolean
  /** Add a DPoP proof (RFC 9449) signed by this handle. */
  dpop?: oauth.DPoPHandle | undefined
  /** Filled with what the request carried and what the answer said, for the step's failure. */
  seen?: ExchangeNotes
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
    const credentials = credentialsOf(init)
    if (shape.seen) for (const credential of credentials) (shape.seen.credentials ??= new Set()).add(credential)
    try {
      return await exchange(url, init, shape, credentials)
    } catch (error) {
      throw isAuthError(error) ? withoutSecrets(error, credentials) : error
    }
  }

  async function exchange(
    url: string,
    init: oauth.CustomFetchOptions<string, unknown>,
    shape: RequestShape,
    credentials: string[],
  ) {
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
      // Cleaned before it is cut: a credential cut in two would survive as its first half.
      const body = scrubSecrets(await response.text(), credentials).slice(0, 500)
      throw new AuthError(
        'provider_unavailable',
        `${origin} answered ${response.status}. This is a problem at the provider; try again later.`,
        { ...meta, cause: { status: response.status, body } },
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

/** The credentials a request carries: its secret form fields, its `Authorization` credentials, its DPoP proof. */
function credentialsOf(init: oauth.CustomFetchOptions<string, unknown>): string[] {
  const found: string[] = []
  if (init.body instanceof URLSearchParams) {
    for (const [name, value] of init.body) if (isSecretName(name)) found.push(value)
  }
  const headers = new Headers(init.headers)
  const authorization = headers.get('authorization')
  if (authorization !== null) found.push(authorization.replace(/^\S+\s+/, ''))
  const proof = headers.get('dpop')
  if (proof !== null) found.push(proof)
  return found.filter((value) => value !== '')
}

/** The status of `response`, and its `Retry-After` (RFC 9110 §10.2.3) in ms when it has one. */
function metaOf(response: Response): ExchangeNotes {
  const meta: ExchangeNotes = { status: response.status }
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

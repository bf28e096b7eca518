import * as oauth from 'oauth4webapi'
import type { ResolvedConfig } from './config.js'
import type { AuthEnvironment } from './environment.js'
import { AuthError, isAuthError } from './errors.js'

/** The oauth4webapi request options every protocol step passes on. */
export type RequestOptions = oauth.HttpRequestOptions<'GET' | 'POST', URLSearchParams | undefined> &
  oauth.DPoPRequestOptions

/**
 * How the protocol steps reach the provider: the fetch to use, the time limit, loopback `http:`,
 * and the translation of every transport failure into an {@link AuthError}.
 */
export interface Transport {
  /**
   * Options for an oauth4webapi request; `envelope` unwraps Authing's `{statusCode, data}` body,
   * `dpop` adds a DPoP proof (RFC 9449) to it.
   */
  options(envelope?: boolean, dpop?: oauth.DPoPHandle): RequestOptions
}

/** Builds the {@link Transport} for one client. */
export function createTransport(
  config: ResolvedConfig,
  env: Pick<AuthEnvironment, 'fetch' | 'setTimeout' | 'clearTimeout'>,
): Transport {
  async function send(
    url: string,
    init: oauth.CustomFetchOptions<string, unknown>,
    envelope: boolean,
  ): Promise<Response> {
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
    if (response.status >= 500) {
      const body = await response.text()
      throw new AuthError(
        'provider_unavailable',
        `${origin} answered ${response.status}. This is a problem at the provider; try again later.`,
        { cause: { status: response.status, body: body.slice(0, 500) } },
      )
    }
    return envelope ? unwrapEnvelope(response) : response
  }
  return {
    options(envelope = false, dpop) {
      return {
        [oauth.customFetch]: (url: string, init: oauth.CustomFetchOptions<string, unknown>) =>
          send(url, init, envelope),
        [oauth.allowInsecureRequests]: config.allowHttp,
        ...(dpop ? { DPoP: dpop } : {}),
      } as RequestOptions
    },
  }
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
  return new Response(JSON.stringify({ error: 'invalid_request', error_description: description }), { status, headers })
}

/**
 * Translates a failure of an oauth4webapi step into an {@link AuthError}; `action` names the step
 * for the message ("exchanging the sign-in code"). AuthErrors pass through unchanged.
 */
export function toAuthError(error: unknown, action: string): AuthError {
  if (isAuthError(error)) return error
  if (error instanceof oauth.ResponseBodyError) {
    const detail = error.error_description ? `: ${error.error_description.replace(/[.!?]+$/, '')}` : ''
    return new AuthError('grant_rejected', `The provider rejected ${action} with "${error.error}"${detail}.`, {
      cause: error,
    })
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    return new AuthError('grant_rejected', `The provider refused ${action} (HTTP ${error.status}).`, { cause: error })
  }
  if (error instanceof oauth.AuthorizationResponseError) {
    const detail = error.error_description ? `: ${error.error_description.replace(/[.!?]+$/, '')}` : ''
    return new AuthError(
      'authorization_error',
      `The provider did not authorize the sign-in ("${error.error}"${detail}).`,
      { cause: error },
    )
  }
  const idTokenError = toIdTokenError(error)
  if (idTokenError) return idTokenError
  return new AuthError(
    'invalid_response',
    `The provider's answer while ${action} is not a valid OAuth response: ${(error as Error)?.message ?? String(error)}.`,
    { cause: error },
  )
}

/** Names the ID-token failures oauth4webapi reports by code and message. */
function toIdTokenError(error: unknown): AuthError | undefined {
  const cause = (error as { cause?: { claim?: unknown; alg?: unknown; header?: { alg?: unknown } } } | undefined)?.cause
  const alg = cause?.alg ?? cause?.header?.alg
  if (typeof alg === 'string' && error instanceof Error && /"alg"|JWS algorithm/.test(error.message)) {
    const what =
      alg === 'none'
        ? 'sent an unsigned ID token (alg "none")'
        : `signed the ID token with ${alg}, which a browser cannot verify safely`
    return new AuthError(
      'id_token_alg_unsupported',
      `The provider ${what}. Set the application's ID-token signing algorithm to RS256 (or ES256) at the provider.`,
      { cause: error },
    )
  }
  if (!(error instanceof oauth.OperationProcessingError)) return undefined
  if (error.code === oauth.JWT_TIMESTAMP_CHECK && cause?.claim === 'exp') {
    return new AuthError(
      'id_token_expired',
      "The provider sent an ID token that has already expired. Check that this device's clock is right, then sign in again.",
      { cause: error },
    )
  }
  if (error.code === oauth.JWT_TIMESTAMP_CHECK || error.code === oauth.JWT_CLAIM_COMPARISON) {
    const claim = typeof cause?.claim === 'string' ? cause.claim : 'a'
    const advice = ['iss', 'aud', 'azp'].includes(claim)
      ? "Check that issuer and clientId match the provider's application."
      : 'The token was not issued for this sign-in; sign in again.'
    return new AuthError(
      'id_token_invalid',
      `The ID token's "${claim}" claim is wrong (${error.message}), so it was refused. ${advice}`,
      { cause: error },
    )
  }
  if (error.code === oauth.KEY_SELECTION || /signature/i.test(error.message)) {
    return new AuthError(
      'id_token_signature_invalid',
      `The ID token's signature does not verify against the provider's published keys (${error.message}); it was refused.`,
      { cause: error },
    )
  }
  return undefined
}

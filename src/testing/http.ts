/**
 * The `fetch` shapes the test provider speaks: a request read once into plain parts, and the JSON,
 * OAuth error and redirect answers. Responses are built with the global `Response` at call time, so
 * they are the current DOM environment's (happy-dom, jsdom, Node).
 */

/** A request as the provider's endpoints read it. */
export interface IncomingRequest {
  method: string
  url: URL
  headers: Headers
  /** The body as text (`''` for none): form bodies are `application/x-www-form-urlencoded`. */
  body: string
  /** The body parsed as a form (empty when it is not one). */
  form: URLSearchParams
  signal: AbortSignal | undefined
}

/** Reads what `fetch(input, init)` was asked, resolving a relative URL against `base`. */
export async function readRequest(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  base: string | undefined,
): Promise<IncomingRequest> {
  const request = typeof input === 'string' || input instanceof URL ? undefined : input
  const url = new URL(request ? request.url : String(input), base)
  const method = (init?.method ?? request?.method ?? 'GET').toUpperCase()
  const headers = new Headers(init?.headers ?? request?.headers)
  // As fetch does: a URLSearchParams body is a form unless the caller said otherwise.
  if (init?.body instanceof URLSearchParams && !headers.has('content-type')) {
    headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8')
  }
  const body = await readBody(init?.body ?? null, request, method)
  const isForm = /application\/x-www-form-urlencoded/i.test(headers.get('content-type') ?? '')
  const signal = init?.signal ?? request?.signal ?? undefined
  return { method, url, headers, body, form: new URLSearchParams(isForm ? body : ''), signal }
}

async function readBody(body: BodyInit | null, request: Request | undefined, method: string): Promise<string> {
  if (typeof body === 'string') return body
  if (body instanceof URLSearchParams) return body.toString()
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return new TextDecoder().decode(body)
  if (body !== null) return new Response(body).text()
  if (request !== undefined && method !== 'GET' && method !== 'HEAD') return request.clone().text()
  return ''
}

/** A new `Request` with the parts of `incoming`, for an app's own API handler. */
export function toRequest(incoming: IncomingRequest): Request {
  const hasBody = incoming.method !== 'GET' && incoming.method !== 'HEAD'
  return new Request(incoming.url, {
    method: incoming.method,
    headers: incoming.headers,
    ...(hasBody ? { body: incoming.body } : {}),
  })
}

/** A JSON answer; token responses must not be cached (RFC 6749 §5.1). */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  })
}

/** An OAuth error answer (RFC 6749 §5.2). */
export function oauthError(error: string, description: string, status = 400): Response {
  return json({ error, error_description: description }, status)
}

/** A 401 from a protected resource with its `WWW-Authenticate` challenge (RFC 6750 §3, RFC 9449 §7.1). */
export function tokenChallenge(scheme: 'Bearer' | 'DPoP', error: string, description: string): Response {
  const challenge = `${scheme} error="${error}", error_description="${description}"${scheme === 'DPoP' ? ', algs="ES256"' : ''}`
  return new Response(null, { status: 401, headers: { 'www-authenticate': challenge } })
}

/** A `302 Found` to `location`. */
export function redirect(location: string): Response {
  return new Response(null, { status: 302, headers: { location } })
}

/** A small HTML page (the provider's own pages: sign-in, signed-out). */
export function page(text: string, status = 200): Response {
  return new Response(`<!doctype html><title>test provider</title><p>${text}</p>`, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8' },
  })
}

/**
 * A `fetch` over node:http for tests that run under a DOM environment (happy-dom). happy-dom's own
 * fetch applies browser rules the Node-side test helpers cannot meet: it preflights every
 * cross-origin request (the provider's authorize endpoint answers navigations, not CORS) and keeps
 * Set-Cookie to itself (the provider fixture's `authorize()` carries its own cookie jar). This one
 * behaves like Node's fetch with `redirect: 'manual'`: plain `http:`, redirects never followed.
 * It answers with the environment's `Response`, so code under test sees the classes it expects.
 */
import { request } from 'node:http'

export const nodeFetch: typeof fetch = (input, init = {}) => {
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url)
  if (url.protocol !== 'http:') return Promise.reject(new TypeError(`nodeFetch only speaks http: (${url.href})`))
  const headers = Object.fromEntries(new Headers(init.headers))
  const body = init.body == null ? undefined : String(init.body)
  if (body !== undefined && init.body instanceof URLSearchParams)
    headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8'

  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: init.method ?? 'GET', headers }, (incoming) => {
      const chunks: Buffer[] = []
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
      incoming.on('error', reject)
      incoming.on('end', () => {
        const responseHeaders = new Headers()
        for (let i = 0; i < incoming.rawHeaders.length; i += 2)
          responseHeaders.append(incoming.rawHeaders[i]!, incoming.rawHeaders[i + 1]!)
        const status = incoming.statusCode ?? 500
        const content = status === 204 || status === 304 ? null : Buffer.concat(chunks)
        const response = new Response(content, {
          status,
          statusText: incoming.statusMessage ?? '',
          headers: responseHeaders,
        })
        // happy-dom's Response drops Set-Cookie, as browsers hide it from scripts; put it back for the fixture's jar.
        for (const cookie of responseHeaders.getSetCookie())
          if (!response.headers.getSetCookie().includes(cookie)) response.headers.append('set-cookie', cookie)
        resolve(response)
      })
    })
    outgoing.on('error', reject)
    init.signal?.addEventListener(
      'abort',
      () => outgoing.destroy(new DOMException('The request was aborted.', 'AbortError')),
      { once: true },
    )
    outgoing.end(body)
  })
}

// @vitest-environment node
/**
 * `auth.fetch`: the access token goes only to the allow-listed origins
 * (`apiOrigins`, by default the page's own), never over plain `http:` off loopback, and the request
 * otherwise leaves as the app built it. The token comes from the real provider; the API is a fake
 * at the network edge that records what it received.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createAuthClient, createMemoryStore, isAuthError, type AuthClient, type AuthConfig } from '../../src/index.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { APP, rejection } from '../support/world.js'

const API = 'https://api.example.com'

let provider: TestProvider
const clients: AuthClient[] = []

beforeAll(async () => {
  provider = await startTestProvider({ redirectUris: [`${APP}/callback`] })
})
afterAll(() => provider.close())
afterEach(() => {
  for (const client of clients.splice(0)) client.dispose()
})

/** A request as the API received it. */
interface Received {
  url: string
  method: string
  headers: Headers
  body: string
}

/**
 * A signed-in app on `page`. Its `fetch` is the browser's: `fetch(input, init)` is the request
 * `new Request(input, init)`, a relative URL resolved against the page. Requests to the provider
 * go through; any other is answered 200 by the API, which records it in `received`. `sent` lists
 * every request the app sent after the sign-in, to the provider too.
 */
async function signedInApp(options: { page?: string; config?: Partial<AuthConfig> } = {}) {
  const page = options.page ?? `${APP}/orders`
  const sent: string[] = []
  const received: Received[] = []
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input instanceof Request ? input : new URL(String(input), page), init)
    sent.push(request.url)
    if (new URL(request.url).origin === new URL(provider.issuer).origin) return globalThis.fetch(input, init)
    const { url, method, headers } = request
    received.push({ url, method, headers, body: await request.text() })
    return Response.json({ ok: true })
  }
  const auth = createAuthClient(
    { issuer: provider.issuer, clientId: provider.clientId, redirectUri: `${APP}/callback`, ...options.config },
    { store: createMemoryStore(), environment: { fetch, currentUrl: () => page, replaceUrl: () => {} } },
  )
  clients.push(auth)
  await auth.handleRedirectCallback(await provider.authorize(await auth.createSignInUrl()))
  const accessToken = await auth.getAccessToken()
  sent.length = 0
  return { auth, accessToken, sent, received }
}

/** Expects `origin_not_allowed` with a message that names `apiOrigins`. */
async function expectRefused(call: Promise<unknown>, hint = /apiOrigins/): Promise<void> {
  const error = await rejection(call)
  expect(isAuthError(error, 'origin_not_allowed'), String(error)).toBe(true)
  expect((error as Error).message).toMatch(hint)
}

describe('auth.fetch sends the token only where it may go', () => {
  it.each([
    { target: 'another origin', input: () => 'https://evil.example/orders' },
    { target: 'another origin as a URL', input: () => new URL('https://evil.example/orders') },
    {
      target: 'another origin as a Request',
      input: () => new Request('https://evil.example/orders', { method: 'POST', body: 'x' }),
    },
    { target: 'a protocol-relative URL', input: () => '//evil.example/orders' },
    { target: 'a host that starts with the listed one', input: () => 'https://api.example.com.evil.example/orders' },
    { target: 'the listed host on another port', input: () => 'https://api.example.com:8443/orders' },
    { target: 'the listed host over http:', input: () => 'http://api.example.com/orders' },
  ])('refuses $target with origin_not_allowed naming apiOrigins, before anything is sent', async ({ input }) => {
    const { auth, sent } = await signedInApp({ config: { apiOrigins: [API] } })
    await expectRefused(auth.fetch(input()))
    expect(sent).toEqual([])
  })

  it("by default sends the token to the page's own origin only", async () => {
    const { auth, accessToken, sent, received } = await signedInApp()
    const response = await auth.fetch('/api/orders')
    expect(response.status).toBe(200)
    expect(received).toMatchObject([{ url: `${APP}/api/orders`, method: 'GET' }])
    expect(received[0]!.headers.get('authorization')).toBe(`Bearer ${accessToken}`)

    // Another host, and the same host on another port (the provider's), are other origins.
    await expectRefused(auth.fetch(`${API}/orders`))
    await expectRefused(auth.fetch(`${new URL(provider.issuer).origin}/me`))
    expect(sent).toEqual([`${APP}/api/orders`])
  })

  it("sends the token to every listed origin, a loopback http: one included, and not to the page's own", async () => {
    const { auth, accessToken, sent, received } = await signedInApp({
      config: { apiOrigins: [API, 'http://localhost:8080'] },
    })
    await auth.fetch(`${API}/orders`)
    await auth.fetch('http://localhost:8080/orders')
    expect(received.map(({ url }) => url)).toEqual([`${API}/orders`, 'http://localhost:8080/orders'])
    for (const { headers } of received) expect(headers.get('authorization')).toBe(`Bearer ${accessToken}`)

    await expectRefused(auth.fetch('/api/orders'))
    expect(sent).toHaveLength(2)
  })

  it.each(['http://api.example', 'http://10.0.0.5:8080'])(
    'refuses the plain http: origin %s in apiOrigins with invalid_config',
    (origin) => {
      let thrown: unknown
      try {
        createAuthClient({
          issuer: provider.issuer,
          clientId: provider.clientId,
          redirectUri: `${APP}/callback`,
          apiOrigins: [API, origin],
        })
      } catch (error) {
        thrown = error
      }
      expect(isAuthError(thrown, 'invalid_config'), String(thrown)).toBe(true)
      expect((thrown as Error).message).toContain(origin)
    },
  )

  it("refuses even the page's own origin when the page is plain http: off loopback", async () => {
    const { auth, sent } = await signedInApp({ page: 'http://intranet.example/orders' })
    await expectRefused(auth.fetch('/api/orders'), /http:/)
    expect(sent).toEqual([])
  })
})

describe('auth.fetch sends the request the app built', () => {
  it('keeps the method, headers and body of a Request and of fetch options, and adds the bearer token', async () => {
    const { auth, accessToken, received } = await signedInApp({ config: { apiOrigins: [API] } })
    const headers = { 'content-type': 'application/json', 'x-custom': '1' }
    await auth.fetch(new Request(`${API}/orders`, { method: 'POST', headers, body: '{"a":1}' }))
    await auth.fetch(`${API}/orders/7`, { method: 'PUT', headers, body: '{"a":2}' })

    expect(received).toMatchObject([
      { url: `${API}/orders`, method: 'POST', body: '{"a":1}' },
      { url: `${API}/orders/7`, method: 'PUT', body: '{"a":2}' },
    ])
    for (const request of received) {
      expect(Object.fromEntries(request.headers)).toEqual({ ...headers, authorization: `Bearer ${accessToken}` })
    }
  })
})

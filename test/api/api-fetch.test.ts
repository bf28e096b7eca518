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
import {
  APP,
  createWorld,
  disposeOpenTabs,
  openTab,
  rejection,
  signIn as signInAtProvider,
  userinfoEndpoint,
  type World,
} from '../support/world.js'

const API = 'https://api.example.com'

let provider: TestProvider
/** A provider that offers two authentication levels and steps up to the one asked for. */
let levels: TestProvider
const clients: AuthClient[] = []

beforeAll(async () => {
  ;[provider, levels] = await Promise.all([
    startTestProvider({ redirectUris: [`${APP}/callback`] }),
    startTestProvider({ redirectUris: [`${APP}/callback`], acrValues: ['urn:spa-auth:password', 'urn:spa-auth:mfa'] }),
  ])
})
afterAll(() => Promise.all([provider.close(), levels.close()]))
afterEach(() => {
  for (const client of clients.splice(0)) client.dispose()
  disposeOpenTabs()
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

/** A challenge answer of the API. */
const challenge = (status: number, value: string) =>
  new Response(null, { status, headers: { 'www-authenticate': value } })

/**
 * An API at `API` in front of every tab's network: it records each request and answers with
 * `answer(request, index)`; the provider's requests go through.
 */
function createApi(answer: (request: Received, index: number) => Response | Promise<Response>) {
  const received: Received[] = []
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init)
    if (new URL(request.url).origin !== API) return globalThis.fetch(input, init)
    const { url, method, headers } = request
    received.push({ url, method, headers, body: await request.text() })
    return answer(received.at(-1)!, received.length - 1)
  }
  /** The access token of each request the API received, in order. */
  const tokens = () => received.map(({ headers }) => headers.get('authorization')?.replace(/^\w+ /, ''))
  return { fetch, received, tokens }
}

/** A tab of the app on `world`, its API calls going to `api`, signed in unless the world already is. */
async function apiTab(world: World, api: ReturnType<typeof createApi>) {
  const tab = openTab(provider, world, { fetch: api.fetch }, { apiOrigins: [API] })
  await tab.auth.ready()
  if (tab.auth.getSnapshot().status !== 'signed-in') await signInAtProvider(provider, tab.auth)
  return tab
}

const refreshes = () => provider.countRequests({ grantType: 'refresh_token' })

describe("auth.fetch answers the API's challenge (RFC 6750 §3, RFC 9470)", () => {
  it('refreshes once and sends the request again, body and all, when the API answers invalid_token', async () => {
    let refused: string | undefined
    const api = createApi(({ headers }) => {
      const token = headers.get('authorization')
      refused ??= token ?? undefined
      return token === refused ? challenge(401, 'Bearer error="invalid_token"') : Response.json({ ok: true })
    })
    const { auth } = await apiTab(createWorld(), api)
    const before = refreshes()

    const response = await auth.fetch(`${API}/orders`, { method: 'POST', body: '{"item":7}' })
    expect(response.status).toBe(200)
    expect(refreshes()).toBe(before + 1)
    expect(api.received.map(({ method, body }) => [method, body])).toEqual([
      ['POST', '{"item":7}'],
      ['POST', '{"item":7}'],
    ])
    const [first, second] = api.tokens()
    expect(second).not.toBe(first)
    expect(second).toBe(await auth.getAccessToken())
  })

  it('refreshes once and asks again when oidc-provider itself refuses a token it forgot', async () => {
    const world = createWorld()
    const { auth, network } = openTab(provider, world)
    await signInAtProvider(provider, auth)
    await provider.forgetAccessToken(await auth.getAccessToken())
    const before = refreshes()

    const response = await auth.fetch(await userinfoEndpoint(provider))
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ sub: 'alice' })
    expect(refreshes()).toBe(before + 1)
    expect(network.exchanges.filter(({ url }) => url.endsWith('/me')).map(({ status }) => status)).toEqual([401, 200])
  })

  it('makes one refresh for three calls in two tabs that the API refuses at once', async () => {
    let refused: string | null | undefined
    const api = createApi(({ headers }) => {
      refused ??= headers.get('authorization')
      return headers.get('authorization') === refused
        ? challenge(401, 'Bearer realm="orders", error="invalid_token", error_description="The access token expired"')
        : Response.json({ ok: true })
    })
    const world = createWorld()
    const first = await apiTab(world, api)
    const second = await apiTab(world, api)
    const before = refreshes()

    const responses = await Promise.all([first, second, second].map(({ auth }) => auth.fetch(`${API}/orders`)))
    expect(responses.map(({ status }) => status)).toEqual([200, 200, 200])
    expect(refreshes()).toBe(before + 1)
    expect(api.received).toHaveLength(6)
  })

  it('resolves the 401 after one refresh and one retry when the API refuses the new token too', async () => {
    const api = createApi(() => challenge(401, 'Bearer error="invalid_token"'))
    const { auth } = await apiTab(createWorld(), api)
    const before = refreshes()

    const response = await auth.fetch(`${API}/orders`)
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
    expect(refreshes()).toBe(before + 1)
    expect(api.received).toHaveLength(2)
  })

  it('retries with the token a refresh brought while the request was out, and refreshes no more', async () => {
    let reach!: () => void
    let release!: () => void
    const reached = new Promise<void>((resolve) => (reach = resolve))
    const held = new Promise<void>((resolve) => (release = resolve))
    const api = createApi(async (_request, index) => {
      if (index > 0) return Response.json({ ok: true })
      reach()
      await held
      return challenge(401, 'Bearer error="invalid_token"')
    })
    const { auth } = await apiTab(createWorld(), api)
    const before = refreshes()

    const call = auth.fetch(`${API}/orders`)
    await reached
    await auth.refresh()
    release()
    expect((await call).status).toBe(200)
    expect(refreshes()).toBe(before + 1)
    expect(api.tokens()[1]).toBe(await auth.getAccessToken())
  })

  it.each([
    { what: 'a 401 without a challenge', answer: () => new Response(null, { status: 401 }) },
    { what: 'invalid_request', answer: () => challenge(400, 'Bearer error="invalid_request"') },
    { what: 'a challenge of another scheme', answer: () => challenge(401, 'Basic realm="orders"') },
  ])('resolves $what as it is, without refreshing', async ({ answer }) => {
    const api = createApi(answer)
    const { auth } = await apiTab(createWorld(), api)
    const before = refreshes()

    expect((await auth.fetch(`${API}/orders`)).status).toBe(answer().status)
    expect(refreshes()).toBe(before)
    expect(api.received).toHaveLength(1)
  })

  it('rejects with insufficient_scope carrying the scope the API asked for, without refreshing', async () => {
    const api = createApi(() => challenge(403, 'Bearer error="insufficient_scope", scope="orders:write orders:read"'))
    const { auth } = await apiTab(createWorld(), api)
    const before = refreshes()

    const error = await rejection(auth.fetch(`${API}/orders`, { method: 'POST', body: '{}' }))
    expect(isAuthError(error, 'insufficient_scope'), String(error)).toBe(true)
    expect(error).toMatchObject({ scope: 'orders:write orders:read' })
    expect((error as Error).message).toContain('orders:write orders:read')
    expect(refreshes()).toBe(before)
    expect(api.received).toHaveLength(1)
  })

  it('rejects with step_up_required carrying the acr_values and max_age the API asked for (RFC 9470)', async () => {
    const api = createApi(() =>
      challenge(
        401,
        'Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:spa-auth:mfa urn:spa-auth:hwk", max_age=300',
      ),
    )
    const { auth } = await apiTab(createWorld(), api)

    const error = await rejection(auth.fetch(`${API}/transfers`, { method: 'POST', body: '{}' }))
    expect(isAuthError(error, 'step_up_required'), String(error)).toBe(true)
    expect(error).toMatchObject({ acrValues: 'urn:spa-auth:mfa urn:spa-auth:hwk', maxAge: 300 })
    expect(api.received).toHaveLength(1)
  })

  it("leads, through the README's lines, to a sign-in whose ID token carries the acr the API asked for", async () => {
    const api = createApi(() =>
      challenge(401, 'Bearer error="insufficient_user_authentication", acr_values="urn:spa-auth:mfa", max_age=300'),
    )
    const navigations: string[] = []
    const navigate = (url: string) => void navigations.push(url)
    const { auth } = openTab(levels, createWorld(), { fetch: api.fetch, navigate }, { apiOrigins: [API] })
    await signInAtProvider(levels, auth)

    try {
      await auth.fetch(`${API}/transfers`, { method: 'POST', body: '{}' })
    } catch (error) {
      if (!isAuthError(error, 'step_up_required')) throw error
      const authorizeParams: Record<string, string> = {}
      if (error.acrValues) authorizeParams.acr_values = error.acrValues
      if (error.maxAge !== undefined) authorizeParams.max_age = String(error.maxAge)
      await auth.signIn({ returnTo: '/transfers', authorizeParams })
    }
    const { returnTo } = await auth.handleRedirectCallback(await levels.authorize(navigations.at(-1)!))

    expect(returnTo).toBe('/transfers')
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice', acr: 'urn:spa-auth:mfa' } })
    const { user } = auth.getSnapshot()
    expect(user!.auth_time).toBeGreaterThan(Date.now() / 1000 - 300)
  })
})

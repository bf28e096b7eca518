/**
 * `spa-auth/testing`: the in-process provider driven by the real client, through the public API
 * only. Every token the provider issues is checked by the client as it checks any provider's.
 */
import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createAuthClient, createMemoryStore, isAuthError, type AuthClient } from '../src/index.js'
import { createTestProvider, type ProviderRequest, type TestProvider } from '../src/testing.js'

const alice = { sub: 'alice', name: 'Alice Example', email: 'alice@example.com' }

const describeRequests = (requests: readonly ProviderRequest[]) =>
  requests.map((request) => [request.endpoint, request.grantType, request.status].filter(Boolean).join(' '))
const refreshes = (provider: TestProvider) =>
  provider.requests.filter((request) => request.grantType === 'refresh_token')

let provider: TestProvider
let globalFetch: ReturnType<typeof vi.spyOn>

beforeEach(() => {
  globalFetch = vi.spyOn(globalThis, 'fetch')
  provider = createTestProvider({ accessTokenTtlSeconds: 300 })
})
afterEach(() => {
  provider.dispose()
  expect(globalFetch).not.toHaveBeenCalled()
  vi.restoreAllMocks()
  vi.useRealTimers()
})

describe('signing in', () => {
  it('signs a user in through the real code flow, with one code exchange', async () => {
    const auth = provider.createClient()

    const { user, returnTo } = await provider.signIn(auth, alice)

    expect(returnTo).toBe('/')
    expect(user).toMatchObject({ ...alice, iss: 'https://auth.test', aud: 'test-app', azp: 'test-app' })
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice', name: 'Alice Example' } })
    expect(describeRequests(provider.requests)).toEqual([
      'discovery 200',
      'authorize 302',
      'token authorization_code 200',
      'jwks 200',
    ])
  })

  it('follows signIn(): the navigation is recorded, completeSignIn() brings the tab back signed in', async () => {
    const auth = provider.createClient({}, { url: 'http://localhost:3000/orders?page=2' })
    await auth.signIn()

    expect(provider.navigations).toHaveLength(1)
    expect(provider.navigations[0]).toMatch(/^https:\/\/auth\.test\/authorize\?.*code_challenge_method=S256/)
    expect(auth.getSnapshot().status).toBe('signed-out')

    const { returnTo } = await provider.completeSignIn(auth, alice)
    expect(returnTo).toBe('/orders?page=2')
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice' } })
    await expect(provider.completeSignIn(auth, alice)).rejects.toThrow(/No sign-in is waiting/)
  })

  it('says at once that no sign-in is waiting: it follows the signIn() calls of the clients it made', async () => {
    // Under fake timers no time passes while it waits: knowing that no signIn() is on its way is what ends it.
    vi.useFakeTimers()
    const auth = provider.createClient()

    await expect(provider.completeSignIn(auth, alice)).rejects.toThrow(/No sign-in is waiting/)
    await expect(provider.refuseSignIn(auth)).rejects.toThrow(/No sign-in is waiting/)

    await auth.signIn()
    await expect(provider.completeSignIn(auth, alice)).resolves.toMatchObject({ user: { sub: 'alice' } })
  })

  it('waits for a signIn() still loading its code, and gives up on one that failed', async () => {
    vi.useFakeTimers()
    const auth = provider.createClient()
    const loading = auth.signIn() // not awaited: its code, discovery and PKCE are still on their way
    expect(provider.navigations).toEqual([])

    await expect(provider.completeSignIn(auth, alice)).resolves.toMatchObject({ user: { sub: 'alice' } })
    await loading

    // Another spelling of the issuer: a discovery of its own, which fails.
    const other = provider.createClient({ issuer: 'https://auth.test/' })
    provider.failNextRequest('discovery', 'server_error')
    const failing = other.signIn().then(
      () => 'left the page',
      (error: unknown) => error,
    )
    await expect(provider.completeSignIn(other, alice)).rejects.toThrow(/No sign-in is waiting/)
    expect(await failing).toMatchObject({ code: 'provider_unavailable' })
  })

  it('answers a refused sign-in with error=access_denied, which the client reports', async () => {
    const auth = provider.createClient()
    await auth.signIn()

    const refused = provider.refuseSignIn(auth)

    await expect(refused).rejects.toMatchObject({ code: 'authorization_error' })
    expect(auth.getSnapshot().status).toBe('signed-out')
  })

  it('issues ID tokens signed with its own key, verifiable against its JWKS by any library', async () => {
    const auth = provider.createClient()
    await provider.signIn(auth, alice)
    await auth.signOut()

    const idToken = new URL(provider.navigations.at(-1)!).searchParams.get('id_token_hint')!
    const jwks = (await (await provider.fetch(provider.endpoints.jwks)).json()) as Parameters<
      typeof createLocalJWKSet
    >[0]
    const { payload, protectedHeader } = await jwtVerify(idToken, createLocalJWKSet(jwks), {
      issuer: provider.issuer,
      audience: provider.clientId,
    })
    expect(protectedHeader.alg).toBe('RS256')
    expect(payload).toMatchObject({ sub: 'alice', name: 'Alice Example' })
  })

  it('signs ES256 ID tokens when asked to', async () => {
    const es256 = createTestProvider({ signingAlg: 'ES256' })
    const auth = es256.createClient()

    await es256.signIn(auth, alice)

    expect(auth.getSnapshot().status).toBe('signed-in')
    es256.dispose()
  })

  it('issues no refresh token without offline_access, so the session expires with its access token', async () => {
    const auth = provider.createClient({ scope: 'openid profile' })
    await provider.signIn(auth, alice)

    provider.expireAccessTokens()
    await provider.idle()

    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'expired' })
    expect(refreshes(provider)).toEqual([])
  })

  it('expires a token its client received late: expiry counts from when the client got it', async () => {
    // A loaded machine or a slow network: the token answer reaches the client 2 s after the
    // provider issued it, so the client's own expiry is 2 s later than the provider's.
    const environment = provider.clientOptions.environment!
    const auth = createAuthClient(
      { ...provider.config, scope: 'openid profile' },
      {
        store: provider.store,
        environment: {
          ...environment,
          fetch: async (input, init) => {
            const response = await environment.fetch!(input, init)
            if (init?.body instanceof URLSearchParams && init.body.get('grant_type') === 'authorization_code') {
              provider.advanceTime(2_000)
            }
            return response
          },
        },
      },
    )
    await provider.signIn(auth, alice)

    provider.expireAccessTokens()
    await provider.idle()

    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'expired' })
    auth.dispose()
  })

  it('drops offline_access without prompt=consent, as oidc-provider and Authing do', async () => {
    const auth = provider.createClient({ authorizeParams: { prompt: 'login' } })
    await provider.signIn(auth, alice)

    await expect(auth.refresh()).rejects.toMatchObject({ code: 'not_signed_in' })
  })

  it('takes a code once, with its PKCE verifier: a replay is refused and revokes what the code gave', async () => {
    const exchanges: URLSearchParams[] = []
    const environment = provider.clientOptions.environment!
    const auth = createAuthClient(provider.config, {
      store: provider.store,
      environment: {
        ...environment,
        fetch: async (input, init) => {
          if (init?.body instanceof URLSearchParams) exchanges.push(new URLSearchParams(init.body))
          return environment.fetch!(input, init)
        },
      },
    })
    await provider.signIn(auth, alice)
    const exchange = exchanges.find((body) => body.get('grant_type') === 'authorization_code')!
    const token = (body: URLSearchParams) => provider.fetch(provider.endpoints.token, { method: 'POST', body })

    const wrongVerifier = new URLSearchParams(exchange)
    wrongVerifier.set('code_verifier', 'x'.repeat(43))
    const replay = await token(exchange)

    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' })
    expect(await (await token(wrongVerifier)).json()).toMatchObject({ error: 'invalid_grant' })
    await expect(auth.refresh()).rejects.toMatchObject({ code: 'grant_rejected' })
    auth.dispose()
  })

  it('refuses an unregistered redirect URI instead of redirecting to it', async () => {
    const auth = provider.createClient({ redirectUri: 'http://localhost:3000/elsewhere' })

    await expect(provider.signIn(auth, alice)).rejects.toThrow(/not registered/)
  })

  it('never reaches the network: any other origin fails like an unreachable host', async () => {
    const auth = provider.createClient({ apiOrigins: ['https://api.example.com'] })
    await provider.signIn(auth, alice)

    await expect(auth.fetch('https://api.example.com/orders')).rejects.toThrow(TypeError)
    expect(provider.requests.at(-1)).toMatchObject({ endpoint: 'unknown', status: 'network-error' })
  })
})

describe('keeping the session fresh', () => {
  it('refreshes once when the access tokens expire, with a new ID token for the same user', async () => {
    const auth = provider.createClient()
    await provider.signIn(auth, alice)
    const before = auth.getSnapshot().expiresAt!
    const firstToken = await auth.getAccessToken()

    provider.expireAccessTokens()
    await provider.idle()

    expect(refreshes(provider)).toHaveLength(1)
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice' }, error: null })
    expect(auth.getSnapshot().expiresAt).toBeGreaterThan(before)
    expect(await auth.getAccessToken()).not.toBe(firstToken)
  })

  it("agrees with fake timers: the client's own timer refreshes before expiry, once", async () => {
    vi.useFakeTimers()
    const auth = provider.createClient()
    await provider.signIn(auth, alice)

    await vi.advanceTimersByTimeAsync(299_000)
    await provider.idle()

    expect(refreshes(provider)).toHaveLength(1)
    expect(refreshes(provider)[0]!.at).toBeGreaterThanOrEqual(Date.now() - 299_000 + 225_000)
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: null })
  })

  it('leaves no timer running once its clients are disposed', async () => {
    vi.useFakeTimers()
    const auth = provider.createClient()
    await provider.signIn(auth, alice)
    expect(vi.getTimerCount()).toBeGreaterThan(0)

    provider.dispose()

    expect(vi.getTimerCount()).toBe(0)
  })

  it('makes one refresh for all tabs of the browser', async () => {
    const tabs = [provider.createClient(), provider.createClient(), provider.createClient()]
    await provider.signIn(tabs[0]!, alice)
    await provider.idle()
    expect(tabs.map((tab) => tab.getSnapshot().status)).toEqual(['signed-in', 'signed-in', 'signed-in'])

    provider.expireAccessTokens()
    await Promise.all(tabs.map((tab) => tab.getAccessToken()))
    await provider.idle()

    expect(refreshes(provider)).toHaveLength(1)
  })

  it('rotates refresh tokens and revokes the grant when a spent one is presented again', async () => {
    const auth = provider.createClient()
    await provider.signIn(auth, alice)
    // A copy of this browser's storage, as a thief would take it: same refresh token, no shared lock.
    const copy = createMemoryStore()
    for (const key of await provider.store.keys()) await copy.set(key, await provider.store.get(key))
    const thief = createAuthClient(provider.config, {
      store: copy,
      environment: { fetch: provider.fetch, locks: undefined, openChannel: () => undefined, onWake: () => () => {} },
    })

    await auth.refresh()
    await expect(thief.refresh()).rejects.toMatchObject({ code: 'grant_rejected' })
    await expect(auth.refresh()).rejects.toMatchObject({ code: 'grant_rejected' })

    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'refresh-rejected' })
    thief.dispose()
  })

  it('keeps one refresh token without rotation, as Authing does', async () => {
    const authing = createTestProvider({ rotateRefreshTokens: false })
    const auth = authing.createClient()
    await authing.signIn(auth, alice)

    await auth.refresh()
    await auth.refresh()

    expect(auth.getSnapshot().status).toBe('signed-in')
    authing.dispose()
  })

  it('signs with a rotated key, which the client finds in the JWKS', async () => {
    vi.useFakeTimers()
    const auth = provider.createClient()
    await provider.signIn(auth, alice)

    await provider.rotateSigningKey({ retirePrevious: true })
    // oauth4webapi fetches the JWKS again for an unknown key once its copy is a minute old.
    await vi.advanceTimersByTimeAsync(61_000)
    await auth.refresh()

    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: null })
    expect(provider.requests.filter((request) => request.endpoint === 'jwks')).toHaveLength(2)
  })
})

describe('failures a test asks for', () => {
  let auth: AuthClient
  beforeEach(async () => {
    auth = provider.createClient({ requestTimeoutMs: 50, apiOrigins: [new URL(provider.issuer).origin] })
    await provider.signIn(auth, alice)
  })

  it('invalid_grant ends the session with reason refresh-rejected', async () => {
    provider.failNextRefresh('invalid_grant')

    provider.expireAccessTokens()
    await provider.idle()

    expect(auth.getSnapshot()).toMatchObject({
      status: 'signed-out',
      reason: 'refresh-rejected',
      error: { code: 'grant_rejected' },
    })
  })

  it.each([
    ['server_error', 'provider_unavailable', 500],
    ['network_error', 'network_error', 'network-error'],
    ['timeout', 'timeout', 'timeout'],
  ] as const)('%s keeps the session, says why, and the retry succeeds', async (failure, code, status) => {
    provider.failNextRefresh(failure)

    await expect(auth.refresh()).rejects.toSatisfy((error) => isAuthError(error, code))
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: { code } })
    expect(refreshes(provider).map((request) => request.status)).toEqual([status])

    provider.advanceTime(1000)
    await provider.idle()
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: null })
    expect(refreshes(provider).map((request) => request.status)).toEqual([status, 200])
  })

  it('fails any endpoint on request, as many times as asked', async () => {
    const other = provider.createClient({ issuer: 'https://auth.test/' })
    provider.failNextRequest('discovery', 'server_error', { times: 2 })

    await expect(other.createSignInUrl()).rejects.toMatchObject({ code: 'provider_unavailable' })
    await expect(other.createSignInUrl()).rejects.toMatchObject({ code: 'provider_unavailable' })
    await expect(other.createSignInUrl()).resolves.toMatch(/^https:\/\/auth\.test\/authorize\?/)
  })

  it('revoking the grant at the provider ends the session at the next refresh', async () => {
    expect(provider.revokeGrants({ sub: 'alice' })).toBe(1)

    // Userinfo refuses the revoked token (invalid_token), so auth.fetch refreshes: the provider
    // refuses that too, and the session ends.
    await expect(auth.fetch(provider.endpoints.userinfo)).rejects.toMatchObject({ code: 'grant_rejected' })
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'refresh-rejected' })
  })

  it('a sign-out in another tab signs this one out too, and revokes the refresh token', async () => {
    await provider.signOutInAnotherTab()
    await provider.idle()

    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'other-tab' })
    expect(describeRequests(provider.requests).at(-1)).toBe('revocation 200')
  })
})

describe('resources', () => {
  it('serves userinfo for the access token', async () => {
    const auth = provider.createClient({ apiOrigins: [new URL(provider.issuer).origin] })
    await provider.signIn(auth, alice)

    const response = await auth.fetch(provider.endpoints.userinfo)

    expect(await response.json()).toEqual(alice)
  })

  it("answers the app's own API with the checked access token", async () => {
    const api = createTestProvider({
      api: (request, access) =>
        Response.json(
          { path: new URL(request.url).pathname, sub: access?.sub ?? null },
          { status: access ? 200 : 401 },
        ),
    })
    const auth = api.createClient()
    await api.signIn(auth, alice)

    const response = await auth.fetch('/api/orders')

    expect(await response.json()).toEqual({ path: '/api/orders', sub: 'alice' })
    expect((await api.fetch('http://localhost:3000/api/orders')).status).toBe(401)
    api.dispose()
  })
})

describe('DPoP', () => {
  it('binds every token to the client key: proofs on each request, DPoP at userinfo, bearer use refused', async () => {
    const dpop = createTestProvider({ dpop: true })
    const auth = dpop.createClient({ apiOrigins: [new URL(dpop.issuer).origin] })
    await dpop.signIn(auth, alice)
    await auth.refresh()

    expect(dpop.requests.filter((request) => request.endpoint === 'token').map((request) => request.dpop)).toEqual([
      true,
      true,
    ])
    const userinfo = await auth.fetch(dpop.endpoints.userinfo)
    expect(await userinfo.json()).toMatchObject({ sub: 'alice' })
    const asBearer = await dpop.fetch(dpop.endpoints.userinfo, {
      headers: { authorization: `Bearer ${await auth.getAccessToken()}` },
    })
    expect(asBearer.status).toBe(401)
    expect(asBearer.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/)
    dpop.dispose()
  })

  it('refuses a client without DPoP when DPoP-bound tokens are required', async () => {
    const dpop = createTestProvider({ dpop: true })
    const auth = dpop.createClient({ dpop: false })

    await expect(dpop.signIn(auth, alice)).rejects.toMatchObject({ code: 'grant_rejected' })
    dpop.dispose()
  })
})

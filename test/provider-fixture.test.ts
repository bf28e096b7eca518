// @vitest-environment node
import * as oauth from 'oauth4webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  startTestProvider,
  type ProviderProfile,
  type TestProvider,
  type TestProviderOptions,
} from './support/provider'

const REDIRECT_URI = 'http://127.0.0.1:5173/callback'
const APP_ORIGIN = 'http://127.0.0.1:5173'
const insecure = { [oauth.allowInsecureRequests]: true } as const

async function expectOAuthError(promise: Promise<unknown>, error: string): Promise<void> {
  const caught: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  )
  expect(caught).toBeInstanceOf(oauth.ResponseBodyError)
  expect((caught as oauth.ResponseBodyError).error).toBe(error)
}

/** The error an authorization response carries (the provider redirected it to the client). */
function expectAuthorizationError(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  callbackUrl: string,
  state: string,
): oauth.AuthorizationResponseError {
  let caught: unknown
  try {
    oauth.validateAuthResponse(as, client, new URL(callbackUrl), state)
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(oauth.AuthorizationResponseError)
  return caught as oauth.AuthorizationResponseError
}

async function discover(op: TestProvider): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(op.issuer)
  return oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
  )
}

/** A code flow against one provider: its authorization parameters, callback check and code exchange. */
async function codeFlow(op: TestProvider, extra: Record<string, string | string[]> = {}) {
  const as = await discover(op)
  const client: oauth.Client = { client_id: op.clientId }
  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const params = new URLSearchParams({
    client_id: op.clientId,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'openid profile offline_access',
    prompt: 'consent',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  })
  for (const [name, value] of Object.entries(extra)) {
    params.delete(name)
    for (const item of Array.isArray(value) ? value : [value]) params.append(name, item)
  }
  const authorizeUrl = new URL(as.authorization_endpoint!)
  authorizeUrl.search = params.toString()
  return {
    as,
    client,
    params,
    authorizeUrl: authorizeUrl.href,
    async exchange(callbackUrl: string): Promise<oauth.TokenEndpointResponse> {
      const callbackParams = oauth.validateAuthResponse(as, client, new URL(callbackUrl), state)
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        oauth.None(),
        callbackParams,
        REDIRECT_URI,
        verifier,
        insecure,
      )
      return oauth.processAuthorizationCodeResponse(as, client, response)
    },
    async refresh(refreshToken: string, resource?: string): Promise<oauth.TokenEndpointResponse> {
      const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, {
        ...insecure,
        ...(resource === undefined ? {} : { additionalParameters: { resource } }),
      })
      return oauth.processRefreshTokenResponse(as, client, response)
    },
  }
}

describe.each<[ProviderProfile, string]>([
  ['strict', ''],
  ['authing-like', '/oidc'],
])('test provider, profile %s', (profile, prefix) => {
  let op: TestProvider
  let as: oauth.AuthorizationServer
  let client: oauth.Client
  const clientAuth = oauth.None()

  beforeAll(async () => {
    op = await startTestProvider({ profile })
    client = { client_id: op.clientId }
  })
  afterAll(async () => {
    await op.close()
  })

  async function signIn(): Promise<oauth.TokenEndpointResponse> {
    const flow = await codeFlow(op)
    const callbackUrl = await op.authorize(flow.authorizeUrl)
    expect(callbackUrl.startsWith(`${REDIRECT_URI}?`)).toBe(true)
    expect(new URL(callbackUrl).searchParams.get('iss')).toBe(op.issuer)
    return flow.exchange(callbackUrl)
  }

  async function refresh(refreshToken: string): Promise<oauth.TokenEndpointResponse> {
    const response = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, insecure)
    return oauth.processRefreshTokenResponse(as, client, response)
  }

  it('serves discovery with the expected issuer', async () => {
    expect(new URL(op.issuer).pathname.replace(/\/$/, '')).toBe(prefix)
    as = await discover(op)
    expect(as.issuer).toBe(op.issuer)
    expect(as.token_endpoint).toBe(`${new URL(op.issuer).origin}${prefix}/token`)
    expect(as.authorization_response_iss_parameter_supported).toBe(true)
    expect(as.revocation_endpoint).toBe(op.revocationEndpoint)
    // PAR is off unless asked for (a client pushes whenever discovery offers it).
    expect(as.pushed_authorization_request_endpoint).toBeUndefined()
    expect(op.countRequests({ path: `${prefix}/.well-known/openid-configuration` })).toBe(1)

    const jwks = (await (await fetch(as.jwks_uri!)).json()) as { keys: Array<Record<string, unknown>> }
    expect(jwks.keys.map((key) => [key['kid'], key['alg'], 'd' in key])).toEqual([
      ['test-rs256-1', 'RS256', false],
      ['test-es256-1', 'ES256', false],
    ])
  })

  it('authorize() explains where an authorization request stopped', async () => {
    const url = new URL(as.authorization_endpoint!)
    url.search = new URLSearchParams({
      client_id: op.clientId,
      redirect_uri: 'http://127.0.0.1:5173/elsewhere',
      response_type: 'code',
      scope: 'openid',
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
      code_challenge_method: 'S256',
    }).toString()
    await expect(op.authorize(url.href)).rejects.toThrow(/ended on 400 .*invalid_redirect_uri/s)
  })

  it('signs in, refreshes, revokes and serves userinfo', async () => {
    const tokens = await signIn()
    expect(tokens.access_token).toBeTruthy()
    expect(tokens.refresh_token).toBeTruthy()
    expect(oauth.getValidatedIdTokenClaims(tokens)?.sub).toBe('alice')
    const firstRefreshToken = tokens.refresh_token!
    expect(op.countRequests({ path: `${prefix}/token`, grantType: 'authorization_code' })).toBe(1)

    op.resetRequests()
    const refreshed = await refresh(firstRefreshToken)
    expect(refreshed.access_token).toBeTruthy()
    expect(refreshed.access_token).not.toBe(tokens.access_token)
    expect(op.countRequests({ path: `${prefix}/token`, grantType: 'refresh_token' })).toBe(1)
    expect(op.requests).toEqual([{ method: 'POST', path: `${prefix}/token`, grantType: 'refresh_token', status: 200 }])

    let current: string
    if (profile === 'strict') {
      expect(refreshed.refresh_token).toBeTruthy()
      expect(refreshed.refresh_token).not.toBe(firstRefreshToken)
      current = refreshed.refresh_token!
      // Reusing the rotated token fails and revokes the whole grant, the new token included.
      await expectOAuthError(refresh(firstRefreshToken), 'invalid_grant')
      await expectOAuthError(refresh(current), 'invalid_grant')
      expect(op.countRequests({ path: `${prefix}/token`, grantType: 'refresh_token' })).toBe(3)
      // Start a fresh grant for the revocation and userinfo checks.
      current = (await signIn()).refresh_token!
    } else {
      expect(refreshed.refresh_token).toBe(firstRefreshToken)
      current = firstRefreshToken
      expect((await refresh(current)).access_token).toBeTruthy()
      expect(op.countRequests({ path: `${prefix}/token`, grantType: 'refresh_token' })).toBe(2)
    }

    const accessToken = (await refresh(current)).access_token
    const userinfo = await oauth.processUserInfoResponse(
      as,
      client,
      'alice',
      await oauth.userInfoRequest(as, client, accessToken, insecure),
    )
    expect(userinfo.name).toBe('Alice Example')

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, current, insecure))
    await expectOAuthError(refresh(current), 'invalid_grant')
  })

  it('holdNext() keeps one processed answer back until it is released', async () => {
    const tokens = await signIn()
    op.resetRequests()
    const hold = op.holdNext({ grantType: 'refresh_token' })
    let answered = false
    const held = refresh(tokens.refresh_token!).finally(() => (answered = true))

    await hold.reached
    // The grant went through the provider's whole stack before its answer was held …
    expect(op.requests).toEqual([{ method: 'POST', path: `${prefix}/token`, grantType: 'refresh_token', status: 200 }])
    // … and other requests are answered meanwhile.
    expect((await fetch(`${op.issuer}/.well-known/openid-configuration`)).status).toBe(200)
    expect(answered).toBe(false)

    hold.release()
    const refreshed = await held
    expect(refreshed.access_token).toBeTruthy()
    // A hold is used up by the request it held.
    const next = await refresh(refreshed.refresh_token ?? tokens.refresh_token!)
    expect(next.access_token).not.toBe(refreshed.access_token)
  })

  it('answers CORS for the client origin on token and openly on discovery', async () => {
    const discovery = await fetch(`${op.issuer}/.well-known/openid-configuration`, {
      headers: { origin: 'https://elsewhere.example' },
    })
    expect(discovery.headers.get('access-control-allow-origin')).toBe('https://elsewhere.example')

    const tokenRequest = (origin: string) =>
      fetch(as.token_endpoint!, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: op.clientId, grant_type: 'refresh_token', refresh_token: 'nope' }),
      })
    const allowed = await tokenRequest(APP_ORIGIN)
    expect(allowed.status).toBe(400)
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN)
    const denied = await tokenRequest('https://elsewhere.example')
    expect(denied.headers.get('access-control-allow-origin')).toBeNull()
  })
})

// ---------------------------------------------------------------------------------------------
// Options: each proven from the outside, with plain fetch and oauth4webapi
// ---------------------------------------------------------------------------------------------

const API_A = 'https://api-a.example/'
const API_B = 'https://api-b.example/'

describe('test provider options', () => {
  const providers: TestProvider[] = []
  async function start(options: TestProviderOptions = {}): Promise<TestProvider> {
    const op = await startTestProvider(options)
    providers.push(op)
    return op
  }
  afterAll(async () => {
    await Promise.all(providers.map((op) => op.close()))
  })

  it('par: off by default, so discovery offers no pushed authorization endpoint', async () => {
    const as = await discover(await start())
    expect(as.pushed_authorization_request_endpoint).toBeUndefined()
    expect(as.require_pushed_authorization_requests).toBeUndefined()
  })

  it.each(['on', 'required'] as const)('par %s: a pushed request authorizes by request_uri', async (par) => {
    const op = await start({ par })
    const flow = await codeFlow(op)
    expect(flow.as.pushed_authorization_request_endpoint).toBe(`${op.issuer}/request`)
    expect(flow.as.require_pushed_authorization_requests).toBe(par === 'required' ? true : undefined)

    const pushed = await oauth.processPushedAuthorizationResponse(
      flow.as,
      flow.client,
      await oauth.pushedAuthorizationRequest(flow.as, flow.client, oauth.None(), flow.params, insecure),
    )
    const authorizeUrl = new URL(flow.as.authorization_endpoint!)
    authorizeUrl.search = new URLSearchParams({ client_id: op.clientId, request_uri: pushed.request_uri }).toString()
    const tokens = await flow.exchange(await op.authorize(authorizeUrl.href))
    expect(tokens.refresh_token).toBeTruthy()

    // A plain authorization request: fine when PAR is on, refused to the client when required.
    const plain = await op.authorize(flow.authorizeUrl)
    if (par === 'on') {
      expect(new URL(plain).searchParams.has('code')).toBe(true)
    } else {
      const refused = expectAuthorizationError(flow.as, flow.client, plain, flow.params.get('state')!)
      expect(refused.error).toBe('invalid_request')
      expect(refused.error_description).toBe('Pushed Authorization Request must be used')
    }
  })

  it('par: the pushed authorization endpoint answers CORS for the client origin only', async () => {
    const op = await start({ par: 'on' })
    const flow = await codeFlow(op)
    const endpoint = flow.as.pushed_authorization_request_endpoint!
    const push = (origin: string) =>
      fetch(endpoint, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: flow.params,
      })

    const preflight = await fetch(endpoint, {
      method: 'OPTIONS',
      headers: {
        origin: APP_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'dpop',
      },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN)
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST')
    // A preflight names no client: oidc-provider lets every origin through it and checks the
    // origin against the client on the request itself.
    const foreignPreflight = await fetch(endpoint, {
      method: 'OPTIONS',
      headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' },
    })
    expect(foreignPreflight.headers.get('access-control-allow-origin')).toBe('https://elsewhere.example')

    const allowed = await push(APP_ORIGIN)
    expect(allowed.status).toBe(201)
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN)
    expect(((await allowed.json()) as { request_uri?: string }).request_uri).toMatch(
      /^urn:ietf:params:oauth:request_uri:/,
    )

    const denied = await push('https://elsewhere.example')
    expect(denied.status).toBe(400)
    expect(denied.headers.get('access-control-allow-origin')).toBeNull()
    expect(((await denied.json()) as { error?: string }).error).toBe('invalid_request')
  })

  it('resourceServers: a refresh per granted API gives a JWT for that audience', async () => {
    const op = await start({ resourceServers: { [API_A]: {}, [API_B]: { scope: 'api:write' } } })
    const flow = await codeFlow(op, {
      scope: 'openid profile offline_access api:read api:write',
      resource: [API_A, API_B],
    })
    const tokens = await flow.exchange(await op.authorize(flow.authorizeUrl))
    // Without `resource`: the usual opaque token, good for userinfo.
    expect(op.accessTokenAudience(tokens.access_token)).toBeUndefined()
    const userinfo = await oauth.processUserInfoResponse(
      flow.as,
      flow.client,
      'alice',
      await oauth.userInfoRequest(flow.as, flow.client, tokens.access_token, insecure),
    )
    expect(userinfo.sub).toBe('alice')

    const forA = await flow.refresh(tokens.refresh_token!, API_A)
    expect(op.accessTokenAudience(forA.access_token)).toBe(API_A)
    expect(forA.scope).toBe('api:read')
    const forB = await flow.refresh(forA.refresh_token!, API_B)
    expect(op.accessTokenAudience(forB.access_token)).toBe(API_B)
    expect(forB.scope).toBe('api:write')
    // Still rotating: the replaced refresh token, reused with a resource, fails and ends the grant.
    await expectOAuthError(flow.refresh(forA.refresh_token!, API_A), 'invalid_grant')
    await expectOAuthError(flow.refresh(forB.refresh_token!), 'invalid_grant')
  })

  it('resourceServers: an API the grant does not hold, or the provider does not know, is an invalid_target', async () => {
    const op = await start({ resourceServers: { [API_A]: {}, [API_B]: {} } })
    const flow = await codeFlow(op, { scope: 'openid offline_access api:read', resource: API_A })
    const tokens = await flow.exchange(await op.authorize(flow.authorizeUrl))
    await expectOAuthError(flow.refresh(tokens.refresh_token!, API_B), 'invalid_target')
    // oidc-provider rotates before it resolves the resource: the refused request used the refresh
    // token up, so presenting it again is a reuse (invalid_grant, grant revoked).
    await expectOAuthError(flow.refresh(tokens.refresh_token!), 'invalid_grant')

    const unknown = await codeFlow(op, { resource: 'https://unknown.example/' })
    const refused = expectAuthorizationError(
      unknown.as,
      unknown.client,
      await op.authorize(unknown.authorizeUrl),
      unknown.params.get('state')!,
    )
    expect(refused.error).toBe('invalid_target')
  })

  it('coop: every answer on the way carries COOP; the interaction pages continue by script', async () => {
    const op = await start({ coop: true })
    const flow = await codeFlow(op)

    // Walk the flow as a browser would, page by page.
    const cookies = new Map<string, string>()
    const steps: Array<{ status: number; path: string; coop: string | null }> = []
    let url = new URL(flow.authorizeUrl)
    while (!url.href.startsWith(REDIRECT_URI)) {
      const response = await fetch(url, {
        redirect: 'manual',
        headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') },
      })
      for (const setCookie of response.headers.getSetCookie()) {
        const pair = setCookie.split(';')[0]!
        const name = pair.slice(0, pair.indexOf('='))
        const value = pair.slice(pair.indexOf('=') + 1)
        if (value) cookies.set(name, value)
        else cookies.delete(name)
      }
      const body = await response.text()
      steps.push({
        status: response.status,
        path: url.pathname.replace(/\/[^/]{10,}$/, '/:uid'),
        coop: response.headers.get('cross-origin-opener-policy'),
      })
      const location = response.headers.get('location')
      const continuation = /<script>location\.replace\(("[^"]*")\)<\/script>/.exec(body)?.[1]
      expect(location ?? continuation).toBeTruthy()
      url = new URL(location ?? (JSON.parse(continuation!) as string), url)
    }
    expect(steps).toEqual([
      { status: 303, path: '/auth', coop: 'same-origin' },
      { status: 200, path: '/interaction/:uid', coop: 'same-origin' }, // login
      { status: 303, path: '/auth/:uid', coop: 'same-origin' },
      { status: 200, path: '/interaction/:uid', coop: 'same-origin' }, // consent
      { status: 303, path: '/auth/:uid', coop: 'same-origin' }, // to the client
    ])
    expect((await flow.exchange(url.href)).access_token).toBeTruthy()

    // authorize() follows the continuation pages too.
    const again = await codeFlow(op)
    expect((await again.exchange(await op.authorize(again.authorizeUrl))).access_token).toBeTruthy()
    // Not only the pages: the API endpoints carry the header as well.
    expect(
      (await fetch(`${op.issuer}/.well-known/openid-configuration`)).headers.get('cross-origin-opener-policy'),
    ).toBe('same-origin')
  })

  it('revocationInDiscovery: false hides the endpoint from discovery, which still revokes', async () => {
    const op = await start({ revocationInDiscovery: false })
    const flow = await codeFlow(op)
    expect(flow.as.revocation_endpoint).toBeUndefined()
    expect(Object.keys(flow.as).filter((key) => key.startsWith('revocation'))).toEqual([])
    expect(op.revocationEndpoint).toBe(`${op.issuer}/token/revocation`)

    const tokens = await flow.exchange(await op.authorize(flow.authorizeUrl))
    const withRevocation = { ...flow.as, revocation_endpoint: op.revocationEndpoint }
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(withRevocation, flow.client, oauth.None(), tokens.refresh_token!, insecure),
    )
    expect(op.countRequests({ path: new URL(op.revocationEndpoint).pathname })).toBe(1)
    await expectOAuthError(flow.refresh(tokens.refresh_token!), 'invalid_grant')
  })

  it('scopesSupported: discovery publishes the configured scopes', async () => {
    const op = await start({ scopesSupported: ['openid', 'profile'] })
    const flow = await codeFlow(op)
    expect(flow.as.scopes_supported).toEqual(['openid', 'profile'])
    // The provider itself is unchanged: offline_access still yields a refresh token.
    const tokens = await flow.exchange(await op.authorize(flow.authorizeUrl))
    expect(tokens.refresh_token).toBeTruthy()
  })

  it('createBrowserSession(): prompt=none gets a code within a provider session, login_required without', async () => {
    const op = await start()
    const session = op.createBrowserSession()
    const signIn = await codeFlow(op)
    await signIn.exchange(await session.authorize(signIn.authorizeUrl))

    const silent = await codeFlow(op, { scope: 'openid profile', prompt: 'none' })
    op.resetRequests()
    const tokens = await silent.exchange(await session.authorize(silent.authorizeUrl))
    expect(oauth.getValidatedIdTokenClaims(tokens)?.sub).toBe('alice')
    expect(op.requests.map(({ path }) => path)).toEqual(['/auth', '/token'])

    // A fresh cookie jar: no provider session, so the provider answers the client with an error.
    const stranger = await codeFlow(op, { scope: 'openid profile', prompt: 'none' })
    const refused = expectAuthorizationError(
      stranger.as,
      stranger.client,
      await op.authorize(stranger.authorizeUrl),
      stranger.params.get('state')!,
    )
    expect(refused.error).toBe('login_required')
  })
})

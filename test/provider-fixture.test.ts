// @vitest-environment node
import * as oauth from 'oauth4webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestProvider, type ProviderProfile, type TestProvider } from './support/provider'

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
    const verifier = oauth.generateRandomCodeVerifier()
    const state = oauth.generateRandomState()
    const url = new URL(as.authorization_endpoint!)
    url.search = new URLSearchParams({
      client_id: op.clientId,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'openid profile offline_access',
      prompt: 'consent',
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString()

    const callbackUrl = await op.authorize(url.href)
    expect(callbackUrl.startsWith(`${REDIRECT_URI}?`)).toBe(true)
    const params = oauth.validateAuthResponse(as, client, new URL(callbackUrl), state)
    expect(params.get('iss')).toBe(op.issuer)

    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      clientAuth,
      params,
      REDIRECT_URI,
      verifier,
      insecure,
    )
    return oauth.processAuthorizationCodeResponse(as, client, response)
  }

  async function refresh(refreshToken: string): Promise<oauth.TokenEndpointResponse> {
    const response = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, insecure)
    return oauth.processRefreshTokenResponse(as, client, response)
  }

  it('serves discovery with the expected issuer', async () => {
    const issuer = new URL(op.issuer)
    expect(issuer.pathname.replace(/\/$/, '')).toBe(prefix)
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
    )
    expect(as.issuer).toBe(op.issuer)
    expect(as.token_endpoint).toBe(`${new URL(op.issuer).origin}${prefix}/token`)
    expect(as.authorization_response_iss_parameter_supported).toBe(true)
    expect(as.revocation_endpoint).toBeTruthy()
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
    expect(op.requests).toEqual([{ method: 'POST', path: `${prefix}/token`, grantType: 'refresh_token' }])

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
    expect(op.requests).toEqual([{ method: 'POST', path: `${prefix}/token`, grantType: 'refresh_token' }])
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

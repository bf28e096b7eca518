// @vitest-environment node
import * as oauth from 'oauth4webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authorizationUrl, createAuthorizationRequest } from '../../src/protocol/authorize.js'
import { resolveConfig, type AuthConfig } from '../../src/protocol/config.js'
import { createAuthClient, createMemoryStore, type AuthClient } from '../../src/index.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'

const ORIGIN = 'https://app.example.com'
/** The page origin of the public-API tests: the provider fixture's default redirect URI lives there. */
const APP = 'http://127.0.0.1:5173'
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0)

const as: oauth.AuthorizationServer = {
  issuer: 'https://id.example.com/oidc',
  authorization_endpoint: 'https://id.example.com/oidc/auth',
}

const appConfig: AuthConfig = {
  issuer: 'https://id.example.com/oidc',
  clientId: 'client-1',
  redirectUri: `${ORIGIN}/callback`,
}

async function signInUrl(config: Partial<AuthConfig> = {}, authorizeParams?: Record<string, string>) {
  const request = await createAuthorizationRequest(as, resolveConfig({ ...appConfig, ...config }), {
    returnTo: '/orders',
    now: NOW,
    ...(authorizeParams ? { authorizeParams } : {}),
  })
  const url = authorizationUrl(as, request.params)
  return { ...request, url, params: new URL(url).searchParams }
}

/**
 * A client as one browser tab at `${APP}/orders` sees it: its own address bar and navigations,
 * against the real provider.
 */
function tabClient(provider: TestProvider, navigations: string[] = []): AuthClient {
  return createAuthClient(
    { issuer: provider.issuer, clientId: provider.clientId, redirectUri: `${APP}/callback` },
    {
      store: createMemoryStore(),
      environment: {
        currentUrl: () => `${APP}/orders`,
        replaceUrl: () => {},
        navigate: (url) => void navigations.push(url),
        openChannel: () => undefined,
      },
    },
  )
}

describe('returnTo, through createSignInUrl and handleRedirectCallback', () => {
  let provider: TestProvider

  beforeAll(async () => {
    provider = await startTestProvider({ redirectUris: [`${APP}/callback`] })
  })
  afterAll(() => provider.close())

  // Each payload is checked after URL parsing (dot segments, backslashes, tabs and newlines are
  // resolved first), then once more percent-decoded, since a router or server may decode it.
  it.each([
    ['/..//evil.example', 'refused: the dot segment leaves //evil.example'],
    ['/.//evil.example', 'refused: the dot segment leaves //evil.example'],
    ['/./\\evil.example', 'refused: the backslash reads as a slash, leaving //evil.example'],
    ['/%2e%2e//evil.example', 'refused: an encoded dot segment is still a dot segment'],
    ['//x', 'refused: protocol-relative, another host'],
    ['/\\x', 'refused: browsers read /\\ as //'],
    ['\\\\x', 'refused: browsers read \\\\ as //'],
    ['https://x', 'refused: another origin'],
    ['javascript:alert(1)', 'refused: not a path'],
    ['data:text/html,x', 'refused: not a path'],
    ['/\t/evil.example', 'refused: URL parsing drops the tab, leaving //evil.example'],
    ['/\n/evil.example', 'refused: URL parsing drops the newline, leaving //evil.example'],
    ['/\r/evil.example', 'refused: URL parsing drops the carriage return, leaving //evil.example'],
    ['/%2f%2fevil.example', 'refused: decoded once, it is //evil.example'],
    ['/%5c%5cevil.example', 'refused: decoded once, it is /\\\\evil.example'],
    ['orders', 'refused: not a path from the root'],
    ['', 'refused: empty'],
    [`${APP}/orders`, 'refused: a URL, not a path, even on this origin'],
  ])('%j is %s', async (returnTo) => {
    const navigations: string[] = []
    const auth = tabClient(provider, navigations)

    await expect(auth.createSignInUrl({ returnTo })).rejects.toMatchObject({
      name: 'AuthError',
      code: 'invalid_return_to',
    })
    await expect(auth.signIn({ returnTo })).rejects.toMatchObject({ code: 'invalid_return_to' })
    expect(navigations).toEqual([])
    auth.dispose()
  })

  it.each([
    ['/orders?id=1#top', '/orders?id=1#top'],
    ['/', '/'],
    ['/a/../b', '/b'],
    ['/a/./b', '/a/b'],
    ['/%2e%2e/b', '/b'],
    ['/files/a%2Fb', '/files/a%2Fb'],
  ])('%j comes back from the callback as %j', async (returnTo, expected) => {
    const auth = tabClient(provider)
    const callbackUrl = await provider.authorize(await auth.createSignInUrl({ returnTo }))

    expect(await auth.handleRedirectCallback(callbackUrl)).toMatchObject({ returnTo: expected })
    auth.dispose()
  })
})

describe('authorizeParams given to createSignInUrl and signIn', () => {
  let provider: TestProvider

  beforeAll(async () => {
    provider = await startTestProvider({ redirectUris: [`${APP}/callback`] })
  })
  afterAll(() => provider.close())

  it.each([
    ['response_type', 'token', 'authorization code flow'],
    ['client_id', 'other-client', 'clientId'],
    ['redirect_uri', 'https://evil.example/callback', 'redirectUri'],
    ['state', 'fixed', 'fresh state'],
    ['nonce', 'fixed', 'fresh nonce'],
    ['code_challenge', 'fixed', 'PKCE'],
    ['code_challenge_method', 'plain', 'PKCE'],
    ['response_mode', 'fragment', 'query string'],
    ['response_mode', 'form_post', 'query string'],
    ['request', 'eyJhbGciOiJub25lIn0.e30.', 'request objects'],
    ['request_uri', 'urn:ietf:params:oauth:request_uri:abc', 'pushed authorization requests'],
    ['registration', '{}', 'register the client'],
    ['dpop_jkt', 'thumbprint', 'dpop'],
  ])('refuses %s (%j) with invalid_config and never leaves the page', async (name, value, instead) => {
    const navigations: string[] = []
    const auth = tabClient(provider, navigations)
    const authorizeParams = { [name]: value }

    const error = await auth.createSignInUrl({ authorizeParams }).catch((error: unknown) => error)
    expect(error).toMatchObject({ name: 'AuthError', code: 'invalid_config' })
    expect((error as Error).message).toContain(`authorizeParams.${name}`)
    expect((error as Error).message).toContain(instead)
    expect((error as Error).message).not.toContain(value)
    await expect(auth.signIn({ authorizeParams })).rejects.toMatchObject({ code: 'invalid_config' })
    expect(navigations).toEqual([])
    auth.dispose()
  })

  it('refuses a value that is not a string with invalid_config', async () => {
    const auth = tabClient(provider)
    const authorizeParams = { max_age: 300 } as unknown as Record<string, string>

    await expect(auth.createSignInUrl({ authorizeParams })).rejects.toMatchObject({
      code: 'invalid_config',
      message: expect.stringContaining('authorizeParams.max_age'),
    })
    auth.dispose()
  })

  it('refuses a scope for one sign-in without openid, which would end without an ID token', async () => {
    const auth = tabClient(provider)

    await expect(auth.createSignInUrl({ authorizeParams: { scope: 'profile email' } })).rejects.toMatchObject({
      code: 'invalid_config',
      message: expect.stringContaining('openid'),
    })
    auth.dispose()
  })

  it('sends the parameters that shape the sign-in page, and a scope for one sign-in, and signs in', async () => {
    const auth = tabClient(provider)
    const url = await auth.createSignInUrl({
      authorizeParams: {
        scope: 'openid email',
        prompt: 'login',
        max_age: '300',
        login_hint: 'alice',
        ui_locales: 'en',
      },
    })
    const params = new URL(url).searchParams

    expect(params.get('scope')).toBe('openid email')
    expect(params.get('max_age')).toBe('300')
    expect(params.get('login_hint')).toBe('alice')
    expect(params.get('ui_locales')).toBe('en')
    expect(await auth.handleRedirectCallback(await provider.authorize(url))).toMatchObject({ user: { sub: 'alice' } })
    auth.dispose()
  })
})

describe('an error response without iss, through handleRedirectCallback', () => {
  let provider: TestProvider

  beforeAll(async () => {
    provider = await startTestProvider({ redirectUris: [`${APP}/callback`] })
  })
  afterAll(() => provider.close())

  // django-oauth-toolkit leaves RFC 9207 iss off its error redirects while advertising it.
  it("is still refused as response_issuer_mismatch, and the message carries the provider's error", async () => {
    const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as {
      authorization_response_iss_parameter_supported?: boolean
    }
    expect(discovery.authorization_response_iss_parameter_supported).toBe(true)
    const auth = tabClient(provider)
    const state = new URL(await auth.createSignInUrl()).searchParams.get('state')!
    const callback = new URL(`${APP}/callback`)
    callback.searchParams.set('state', state)
    callback.searchParams.set('error', 'invalid_scope')
    callback.searchParams.set('error_description', 'The requested scope is invalid, unknown, or malformed.')

    const error = await auth.handleRedirectCallback(callback.href).catch((error: unknown) => error)

    expect(error).toMatchObject({ name: 'AuthError', code: 'response_issuer_mismatch' })
    expect((error as Error).message).toContain('invalid_scope')
    expect((error as Error).message).toContain('The requested scope is invalid, unknown, or malformed')
    expect((error as Error).message).not.toContain(state)
    auth.dispose()
  })
})

describe('createAuthorizationRequest', () => {
  it('asks for an authorization code with the client id, redirect URI, scope, state, nonce and an S256 PKCE challenge', async () => {
    const { url, params, transaction } = await signInUrl()

    expect(url.startsWith('https://id.example.com/oidc/auth?')).toBe(true)
    expect(params.get('response_type')).toBe('code')
    expect(params.get('client_id')).toBe('client-1')
    expect(params.get('redirect_uri')).toBe(`${ORIGIN}/callback`)
    expect(params.get('scope')).toBe('openid profile offline_access')
    expect(params.get('state')).toBe(transaction.state)
    expect(params.get('nonce')).toBe(transaction.nonce)
    expect(params.get('code_challenge_method')).toBe('S256')
    expect(params.get('code_challenge')).toBe(await oauth.calculatePKCECodeChallenge(transaction.codeVerifier))
  })

  it('records the redirect URI, the return path and the start time in the transaction', async () => {
    const { transaction } = await signInUrl()

    expect(transaction).toMatchObject({ redirectUri: `${ORIGIN}/callback`, returnTo: '/orders', createdAt: NOW })
  })

  it('uses a fresh state, nonce and code verifier for every sign-in', async () => {
    const first = await signInUrl()
    const second = await signInUrl()

    expect(second.transaction.state).not.toBe(first.transaction.state)
    expect(second.transaction.nonce).not.toBe(first.transaction.nonce)
    expect(second.transaction.codeVerifier).not.toBe(first.transaction.codeVerifier)
    expect(second.params.get('code_challenge')).not.toBe(first.params.get('code_challenge'))
  })

  it('adds prompt=consent when the scope asks for offline_access', async () => {
    expect((await signInUrl()).params.get('prompt')).toBe('consent')
  })

  it('keeps the prompt the caller chose for this sign-in', async () => {
    const { params } = await signInUrl({}, { prompt: 'login' })

    expect(params.getAll('prompt')).toEqual(['login'])
  })

  it('keeps the prompt the app configured', async () => {
    const { params } = await signInUrl({ authorizeParams: { prompt: 'login' } })

    expect(params.getAll('prompt')).toEqual(['login'])
  })

  it('adds no prompt when the scope does not ask for offline_access', async () => {
    const { params } = await signInUrl({ scope: 'openid profile' })

    expect(params.has('prompt')).toBe(false)
  })

  it('passes configured and per-sign-in parameters through, the per-sign-in ones winning', async () => {
    const { params } = await signInUrl(
      { authorizeParams: { audience: 'https://api.example.com', ui_locales: 'en' } },
      { ui_locales: 'zh-CN', login_hint: 'ada@example.com' },
    )

    expect(params.get('audience')).toBe('https://api.example.com')
    expect(params.get('ui_locales')).toBe('zh-CN')
    expect(params.get('login_hint')).toBe('ada@example.com')
  })

  it('uses a scope given for this sign-in instead of the configured one', async () => {
    const { params } = await signInUrl({}, { scope: 'openid email' })

    expect(params.getAll('scope')).toEqual(['openid email'])
    expect(params.has('prompt')).toBe(false)
  })

  it('refuses a provider without an authorization endpoint with invalid_response', async () => {
    const request = createAuthorizationRequest({ issuer: as.issuer }, resolveConfig(appConfig), {
      returnTo: '/',
      now: NOW,
    })

    await expect(request).rejects.toMatchObject({ name: 'AuthError', code: 'invalid_response' })
  })
})

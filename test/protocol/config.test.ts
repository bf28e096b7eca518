import { describe, expect, it } from 'vitest'
import { resolveConfig, type AuthConfig } from '../../src/protocol/config.js'
import { createAuthClient, createMemoryStore } from '../../src/index.js'

const base: AuthConfig = {
  issuer: 'https://id.example.com/oidc',
  clientId: 'client-1',
  redirectUri: 'https://app.example.com/callback',
}

function thrownBy(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('expected the call to throw')
}

describe('resolveConfig', () => {
  it('applies the default scope, a 60-second refresh leeway and a 10-second request timeout', () => {
    const config = resolveConfig(base)

    expect(config.scope).toBe('openid profile offline_access')
    expect(config.refreshLeewaySeconds).toBe(60)
    expect(config.requestTimeoutMs).toBe(10_000)
    expect(config.postLogoutRedirectUri).toBeUndefined()
    expect(config.authorizeParams).toEqual({})
  })

  it('keeps the values the app gave instead of the defaults', () => {
    const config = resolveConfig({
      ...base,
      scope: 'openid email',
      refreshLeewaySeconds: 0,
      requestTimeoutMs: 2_500,
      postLogoutRedirectUri: 'https://app.example.com/bye',
      authorizeParams: { audience: 'https://api.example.com' },
    })

    expect(config.scope).toBe('openid email')
    expect(config.refreshLeewaySeconds).toBe(0)
    expect(config.requestTimeoutMs).toBe(2_500)
    expect(config.postLogoutRedirectUri).toBe('https://app.example.com/bye')
    expect(config.authorizeParams).toEqual({ audience: 'https://api.example.com' })
  })

  it('refuses a plain http issuer on a public host with insecure_issuer', () => {
    expect(thrownBy(() => resolveConfig({ ...base, issuer: 'http://example.com' }))).toMatchObject({
      name: 'AuthError',
      code: 'insecure_issuer',
    })
  })

  it.each(['http://localhost:3000/oidc', 'http://127.0.0.1:5173/oidc', 'http://[::1]:8080/oidc'])(
    'accepts the loopback http issuer %s and allows http for it',
    (issuer) => {
      const config = resolveConfig({ ...base, issuer })

      expect(config.issuer.href).toBe(issuer)
      expect(config.allowHttp).toBe(true)
    },
  )

  it('accepts an https issuer and does not allow http', () => {
    const config = resolveConfig(base)

    expect(config.issuer).toBeInstanceOf(URL)
    expect(config.issuer.href).toBe('https://id.example.com/oidc')
    expect(config.allowHttp).toBe(false)
  })

  it.each([
    ['missing', undefined],
    ['empty', ''],
  ])('refuses a %s client id with invalid_config', (_, clientId) => {
    const config = { ...base, clientId } as unknown as AuthConfig

    expect(thrownBy(() => resolveConfig(config))).toMatchObject({ name: 'AuthError', code: 'invalid_config' })
  })

  it.each(['', 'id.example.com/oidc', '/oidc', 'https://'])(
    'refuses the malformed issuer "%s" with invalid_config',
    (issuer) => {
      expect(thrownBy(() => resolveConfig({ ...base, issuer }))).toMatchObject({
        name: 'AuthError',
        code: 'invalid_config',
      })
    },
  )

  it.each(['', 'callback', '/callback'])(
    'refuses the malformed redirectUri "%s" with invalid_config',
    (redirectUri) => {
      expect(thrownBy(() => resolveConfig({ ...base, redirectUri }))).toMatchObject({
        name: 'AuthError',
        code: 'invalid_config',
      })
    },
  )

  it('refuses a malformed postLogoutRedirectUri with invalid_config', () => {
    expect(thrownBy(() => resolveConfig({ ...base, postLogoutRedirectUri: 'bye' }))).toMatchObject({
      code: 'invalid_config',
    })
  })

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses the refresh leeway %s with invalid_config',
    (refreshLeewaySeconds) => {
      expect(thrownBy(() => resolveConfig({ ...base, refreshLeewaySeconds }))).toMatchObject({ code: 'invalid_config' })
    },
  )

  it.each([0, -5])('refuses the request timeout %s with invalid_config', (requestTimeoutMs) => {
    expect(thrownBy(() => resolveConfig({ ...base, requestTimeoutMs }))).toMatchObject({ code: 'invalid_config' })
  })

  it('names the session key, metadata key and session channel after the issuer and client id', () => {
    const config = resolveConfig(base)

    expect(config.sessionKey).toContain('https://id.example.com/oidc')
    expect(config.sessionKey).toContain('client-1')
    expect(config.sessionName).toContain('https://id.example.com/oidc')
    expect(config.sessionName).toContain('client-1')
    expect(config.metadataKey).toContain('https://id.example.com/oidc')
  })

  it('gives two applications of one issuer different session keys but the same metadata key', () => {
    const first = resolveConfig(base)
    const second = resolveConfig({ ...base, clientId: 'client-2' })

    expect(second.sessionKey).not.toBe(first.sessionKey)
    expect(second.sessionName).not.toBe(first.sessionName)
    expect(second.metadataKey).toBe(first.metadataKey)
  })

  it('is not affected by later changes to the authorizeParams object the app passed', () => {
    const authorizeParams: Record<string, string> = { audience: 'https://api.example.com' }
    const config = resolveConfig({ ...base, authorizeParams })

    authorizeParams['audience'] = 'https://evil.example.com'

    expect(config.authorizeParams).toEqual({ audience: 'https://api.example.com' })
  })
})

describe('authorizeParams given to createAuthClient', () => {
  const create = (authorizeParams: unknown) =>
    createAuthClient({ ...base, authorizeParams } as AuthConfig, { store: createMemoryStore() })

  it.each([
    ['response_type', 'code id_token', 'authorization code flow'],
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
    ['scope', 'openid email', 'scope option'],
  ])('refuses %s (%j) with invalid_config, naming it and what to use instead', (name, value, instead) => {
    const error = thrownBy(() => create({ [name]: value }))

    expect(error).toMatchObject({ name: 'AuthError', code: 'invalid_config' })
    expect((error as Error).message).toContain(`config.authorizeParams.${name}`)
    expect((error as Error).message).toContain(instead)
    expect((error as Error).message).not.toContain(value)
  })

  it.each([
    ['a number', { max_age: 300 }, 'max_age'],
    ['an array', { resource: ['https://a.example', 'https://b.example'] }, 'resource'],
    ['undefined', { login_hint: undefined }, 'login_hint'],
  ])('refuses a value that is %s with invalid_config', (_, authorizeParams, name) => {
    const error = thrownBy(() => create(authorizeParams))

    expect(error).toMatchObject({ name: 'AuthError', code: 'invalid_config' })
    expect((error as Error).message).toContain(`config.authorizeParams.${name}`)
  })

  it.each([
    ['a string', 'prompt=login'],
    ['an array', [['prompt', 'login']]],
    ['null', null],
  ])('refuses authorizeParams that is %s with invalid_config', (_, authorizeParams) => {
    expect(thrownBy(() => create(authorizeParams))).toMatchObject({ name: 'AuthError', code: 'invalid_config' })
  })

  it('accepts the parameters that only shape the sign-in page or the token audience', () => {
    const auth = create({
      prompt: 'login',
      max_age: '300',
      login_hint: 'ada@example.com',
      ui_locales: 'zh-CN',
      acr_values: 'mfa',
      audience: 'https://api.example.com',
      resource: 'https://api.example.com',
    })

    expect(auth.getSnapshot().status).toBe('loading')
    auth.dispose()
  })
})

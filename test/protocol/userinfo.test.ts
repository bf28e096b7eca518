// @vitest-environment node
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createAuthClient, createMemoryStore, isAuthError, type AuthClient } from '../../src/index.js'
import { startHostileProvider, type HostileProvider, type Misbehaviour } from '../support/hostile-provider.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { APP, createWorld, disposeOpenTabs, openTab, rejection, signIn } from '../support/world.js'

let provider: TestProvider
let dpop: TestProvider
let signed: TestProvider
let hostile: HostileProvider
const hostileClients: AuthClient[] = []

beforeAll(async () => {
  const redirectUris = [`${APP}/callback`]
  ;[provider, dpop, signed, hostile] = await Promise.all([
    startTestProvider({ profile: 'strict', redirectUris }),
    startTestProvider({ profile: 'strict', dpop: 'required', redirectUris }),
    startTestProvider({ profile: 'strict', signedUserinfo: true, redirectUris }),
    startHostileProvider({ redirectUri: `${APP}/callback` }),
  ])
})
afterAll(async () => {
  await Promise.all([provider, dpop, signed, hostile].map((each) => each?.close()))
})
afterEach(() => {
  disposeOpenTabs()
  for (const client of hostileClients.splice(0)) client.dispose()
})

describe('getUserInfo()', () => {
  it("returns the userinfo endpoint's claims for the signed-in user", async () => {
    const { auth } = openTab(provider, createWorld())
    await signIn(provider, auth)

    expect(await auth.getUserInfo()).toMatchObject({ sub: 'alice', name: 'Alice Example' })
  })

  it('sends a DPoP proof with a DPoP-bound token', async () => {
    const { auth, network } = openTab(dpop, createWorld(), {}, { dpop: true })
    await signIn(dpop, auth)

    expect(await auth.getUserInfo()).toMatchObject({ sub: 'alice' })
    expect(network.exchanges.filter((exchange) => exchange.url.endsWith('/me')).at(-1)?.status).toBe(200)
  })

  it('refuses claims about another user with userinfo_subject_mismatch, and keeps the session', async () => {
    const { auth, network } = openTab(provider, createWorld())
    await signIn(provider, auth)
    network.intercept(({ url }) =>
      url.endsWith('/me') ? Response.json({ sub: 'mallory', name: 'Mallory' }) : undefined,
    )

    const error = await auth.getUserInfo().catch((caught: unknown) => caught)
    expect(isAuthError(error, 'userinfo_subject_mismatch'), String(error)).toBe(true)
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice' } })
  })

  it('rejects with not_signed_in when nobody is signed in', async () => {
    const { auth } = openTab(provider, createWorld())
    await auth.ready()
    await expect(auth.getUserInfo()).rejects.toSatisfy((error) => isAuthError(error, 'not_signed_in'))
  })
})

describe('getUserInfo() with a signed answer (OIDC Core §5.3.2)', () => {
  it("verifies oidc-provider's signed answer against its JWKS and returns its claims", async () => {
    const { auth, network } = openTab(signed, createWorld())
    await signIn(signed, auth)
    const contentTypes: Array<string | null> = []
    network.intercept(async ({ url, forward }) => {
      if (!url.endsWith('/me')) return undefined
      const answer = await forward()
      contentTypes.push(answer.headers.get('content-type'))
      return answer
    })

    expect(await auth.getUserInfo()).toMatchObject({ sub: 'alice', name: 'Alice Example' })
    expect(contentTypes).toEqual([expect.stringMatching(/^application\/jwt/)])
  })

  it('refuses an answer signed with a key nobody published with userinfo_signature_invalid, and keeps the session', async () => {
    const auth = await signedInAtHostile('userinfo-bad-signature')

    const error = await rejection(auth.getUserInfo())
    expect(isAuthError(error, 'userinfo_signature_invalid'), String(error)).toBe(true)
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: hostile.subject } })
  })

  it.each([
    { misbehaviour: 'userinfo-hs256-advertised', what: 'signed with HS256 (listed in discovery)', alg: /HS256/ },
    {
      misbehaviour: 'userinfo-alg-none-advertised',
      what: 'not signed at all (alg none, listed in discovery)',
      alg: /none/,
    },
    { misbehaviour: 'userinfo-ps256-advertised', what: 'signed with PS256 (listed in discovery)', alg: /PS256/ },
  ] as const)('refuses an answer $what with userinfo_alg_unsupported', async ({ misbehaviour, alg }) => {
    const auth = await signedInAtHostile(misbehaviour)

    const error = await rejection(auth.getUserInfo())
    expect(isAuthError(error, 'userinfo_alg_unsupported'), String(error)).toBe(true)
    expect((error as Error).message).toMatch(alg)
    expect((error as Error).message).toMatch(/RS256/)
  })

  it.each([
    { misbehaviour: 'userinfo-wrong-iss', what: 'whose iss names another issuer', claim: /"iss"/ },
    { misbehaviour: 'userinfo-wrong-aud', what: 'whose aud names another client', claim: /"aud"/ },
    { misbehaviour: 'userinfo-without-iss-and-aud', what: 'without iss and aud', claim: /"iss" and "aud"/ },
  ] as const)('refuses an answer $what with userinfo_claims_invalid', async ({ misbehaviour, claim }) => {
    const auth = await signedInAtHostile(misbehaviour)

    const error = await rejection(auth.getUserInfo())
    expect(isAuthError(error, 'userinfo_claims_invalid'), String(error)).toBe(true)
    expect((error as Error).message).toMatch(claim)
  })

  it('refuses an encrypted answer with userinfo_encrypted, saying how to turn encryption off', async () => {
    const auth = await signedInAtHostile('userinfo-encrypted')

    const error = await rejection(auth.getUserInfo())
    expect(isAuthError(error, 'userinfo_encrypted'), String(error)).toBe(true)
    expect((error as Error).message).toMatch(/encrypt/)
  })

  it('accepts an answer signed with a key the provider has just published, after one JWKS fetch', async () => {
    const auth = await signedInAtHostile()
    const before = hostile.jwksRequests
    await hostile.rotateSigningKey()

    expect(await auth.getUserInfo()).toMatchObject({ sub: hostile.subject, name: 'Mallory Example' })
    expect(hostile.jwksRequests).toBe(before + 1)
    // The new key set is kept: the next answer needs no fetch.
    await auth.getUserInfo()
    expect(hostile.jwksRequests).toBe(before + 1)
  })
})

/**
 * A client signed in at the hostile provider, which answers userinfo with a JWT signed as
 * `misbehaviour` says (its discovery document, read at the sign-in, says so too).
 */
async function signedInAtHostile(misbehaviour: Misbehaviour = 'none'): Promise<AuthClient> {
  hostile.misbehave(misbehaviour)
  const auth = createAuthClient(
    { issuer: hostile.issuer, clientId: hostile.clientId, redirectUri: hostile.redirectUri },
    {
      store: createMemoryStore(),
      environment: { currentUrl: () => `${APP}/`, replaceUrl: () => {}, navigate: () => {} },
    },
  )
  hostileClients.push(auth)
  await auth.handleRedirectCallback(await hostile.authorize(await auth.createSignInUrl()))
  return auth
}

describe('getUserInfo() with an access token the provider no longer accepts (RFC 6750 §3.1)', () => {
  const refreshes = (at: TestProvider) => at.countRequests({ grantType: 'refresh_token' })

  it.each([
    { kind: 'a bearer token', at: () => provider, config: {} },
    { kind: 'a DPoP-bound token', at: () => dpop, config: { dpop: true } },
  ])('refreshes once and asks again when the provider refuses $kind with invalid_token', async ({ at, config }) => {
    const { auth, network } = openTab(at(), createWorld(), {}, config)
    await signIn(at(), auth)
    const refused = await auth.getAccessToken()
    await at().forgetAccessToken(refused)
    const before = refreshes(at())

    expect(await auth.getUserInfo()).toMatchObject({ sub: 'alice' })
    expect(refreshes(at())).toBe(before + 1)
    // (With DPoP, a first 401 asks for a nonce.)
    const statuses = network.exchanges.filter(({ url }) => url.endsWith('/me')).map(({ status }) => status)
    expect(statuses.slice(-2)).toEqual([401, 200])
    expect(await auth.getAccessToken()).not.toBe(refused)
  })

  it('rejects with token_rejected, not client_rejected, when the refreshed token is refused too, and keeps the session', async () => {
    const { auth, network } = openTab(provider, createWorld())
    await signIn(provider, auth)
    const before = refreshes(provider)
    network.intercept(({ url }) =>
      url.endsWith('/me')
        ? new Response(null, { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } })
        : undefined,
    )

    const error = await rejection(auth.getUserInfo())
    expect(isAuthError(error, 'token_rejected'), String(error)).toBe(true)
    expect((error as Error).message).not.toMatch(/client|registration/i)
    expect(refreshes(provider)).toBe(before + 1)
    expect(network.exchanges.filter(({ url }) => url.endsWith('/me'))).toHaveLength(2)
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice' } })
  })

  it('makes one refresh for two tabs whose calls are refused at once', async () => {
    const world = createWorld()
    const first = openTab(provider, world)
    await signIn(provider, first.auth)
    const second = openTab(provider, world)
    await second.auth.ready()
    await provider.forgetAccessToken(await first.auth.getAccessToken())
    const before = refreshes(provider)

    const answers = await Promise.all([first, second, first].map(({ auth }) => auth.getUserInfo()))
    expect(answers).toMatchObject([{ sub: 'alice' }, { sub: 'alice' }, { sub: 'alice' }])
    expect(refreshes(provider)).toBe(before + 1)
  })
})

describe('getUserInfo() with a challenge only a new sign-in answers', () => {
  it.each([
    {
      challenge: 'Bearer error="insufficient_scope", scope="openid profile email"',
      code: 'insufficient_scope',
      carries: { scope: 'openid profile email' },
    },
    {
      challenge: 'Bearer error="insufficient_user_authentication", acr_values="urn:spa-auth:mfa", max_age=60',
      code: 'step_up_required',
      carries: { acrValues: 'urn:spa-auth:mfa', maxAge: 60 },
    },
  ] as const)('rejects a $code challenge with $code, carrying what it asks for, without refreshing', async (row) => {
    const { auth, network } = openTab(provider, createWorld())
    await signIn(provider, auth)
    const before = provider.countRequests({ grantType: 'refresh_token' })
    network.intercept(({ url }) =>
      url.endsWith('/me')
        ? new Response(null, { status: 403, headers: { 'www-authenticate': row.challenge } })
        : undefined,
    )

    const error = await rejection(auth.getUserInfo())
    expect(isAuthError(error, row.code), String(error)).toBe(true)
    expect(error).toMatchObject(row.carries)
    expect(provider.countRequests({ grantType: 'refresh_token' })).toBe(before)
  })
})

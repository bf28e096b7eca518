// @vitest-environment node
import * as oauth from 'oauth4webapi'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createAuthClient,
  createMemoryStore,
  isAuthError,
  type AuthClient,
  type KeyValueStore,
} from '../../src/index.js'
import { createFakeTabs } from '../support/fake-tabs.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'

const APP = 'http://127.0.0.1:5173'

/** The stored session record: the tokens and the DPoP key pair they are bound to. */
interface Stored {
  tokens: { accessToken: string; refreshToken?: string; tokenType: string }
  dpopKey?: CryptoKeyPair
}

/** One tab of the app: its address bar, navigations, and a clock that can be moved ahead. */
function tab(
  provider: TestProvider,
  store: KeyValueStore,
  options: { dpop?: boolean; shared?: ReturnType<typeof createFakeTabs>; fetch?: typeof fetch } = {},
) {
  const page = { url: `${APP}/`, navigations: [] as string[], offsetMs: 0 }
  const auth = createAuthClient(
    {
      issuer: provider.issuer,
      clientId: provider.clientId,
      redirectUri: `${APP}/callback`,
      dpop: options.dpop ?? true,
      apiOrigins: [new URL(provider.issuer).origin],
    },
    {
      store,
      environment: {
        now: () => Date.now() + page.offsetMs,
        currentUrl: () => page.url,
        replaceUrl: (url) => void (page.url = url),
        navigate: (url) => void page.navigations.push(url),
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.shared ? options.shared.environment() : { locks: undefined, openChannel: () => undefined }),
      },
    },
  )
  clients.push(auth)
  return { auth, page }
}

const clients: AuthClient[] = []
afterEach(() => {
  for (const auth of clients.splice(0)) auth.dispose()
})

async function signIn(
  provider: TestProvider,
  auth: AuthClient,
  page: { url: string; navigations: string[] },
): Promise<void> {
  await auth.signIn({ returnTo: '/' })
  page.url = await provider.authorize(page.navigations.at(-1)!)
  await auth.handleRedirectCallback()
}

async function discovery(provider: TestProvider): Promise<oauth.AuthorizationServer> {
  return (
    await fetch(`${provider.issuer}/.well-known/openid-configuration`)
  ).json() as Promise<oauth.AuthorizationServer>
}

const sessionKey = (provider: TestProvider) => `session:${provider.issuer}|${provider.clientId}`
async function storedKey(store: KeyValueStore, provider: TestProvider): Promise<CryptoKeyPair | undefined> {
  return (await store.get<Stored>(sessionKey(provider)))?.dpopKey
}

async function thumbprint(pair: CryptoKeyPair): Promise<string> {
  return oauth.DPoP({}, pair).calculateThumbprint()
}

describe('DPoP against oidc-provider with bound tokens and nonces required', () => {
  let provider: TestProvider
  let as: oauth.AuthorizationServer

  beforeAll(async () => {
    provider = await startTestProvider({
      profile: 'strict',
      dpop: 'required',
      accessTokenTtlSeconds: 30,
      redirectUris: [`${APP}/callback`],
    })
    as = await discovery(provider)
  })
  afterAll(() => provider.close())

  it('binds the issued access token to a non-extractable key kept in the session record', async () => {
    const store = createMemoryStore()
    const { auth, page } = tab(provider, store)
    await signIn(provider, auth, page)

    const pair = await storedKey(store, provider)
    expect(pair?.privateKey.extractable).toBe(false)
    await expect(crypto.subtle.exportKey('jwk', pair!.privateKey)).rejects.toThrow()
    const stored = await store.get<Stored>(sessionKey(provider))
    expect(stored?.tokens.tokenType).toBe('dpop')
    expect(await provider.accessTokenBinding(stored!.tokens.accessToken)).toBe(await thumbprint(pair!))
  })

  it('calls userinfo through auth.fetch with a proof, and the token alone or with another key is refused', async () => {
    const store = createMemoryStore()
    const { auth, page } = tab(provider, store)
    await signIn(provider, auth, page)

    const response = await auth.fetch(as.userinfo_endpoint!)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ sub: 'alice' })

    const token = (await store.get<Stored>(sessionKey(provider)))!.tokens.accessToken
    for (const scheme of ['Bearer', 'DPoP']) {
      const bare = await fetch(as.userinfo_endpoint!, { headers: { authorization: `${scheme} ${token}` } })
      // 401 invalid_token for a bound token sent as Bearer; 400 invalid_request for DPoP without a proof.
      expect([400, 401]).toContain(bare.status)
      expect(bare.headers.get('www-authenticate') ?? '').toMatch(/^DPoP /)
    }
    const stranger = oauth.DPoP({}, await oauth.generateKeyPair('ES256'))
    const send = () =>
      oauth.protectedResourceRequest(token, 'GET', new URL(as.userinfo_endpoint!), new Headers(), null, {
        DPoP: stranger,
        [oauth.allowInsecureRequests]: true,
      })
    const refused = await send()
      .catch((error) => (oauth.isDPoPNonceError(error) ? send() : Promise.reject(error)))
      .catch((error: oauth.WWWAuthenticateChallengeError) => error.response)
    expect(refused.status).toBe(401)
  })

  it('refreshes once and sends auth.fetch again with a new proof when the server refuses a forgotten token', async () => {
    const store = createMemoryStore()
    const { auth, page } = tab(provider, store)
    await signIn(provider, auth, page)
    const refused = (await store.get<Stored>(sessionKey(provider)))!.tokens.accessToken
    await provider.forgetAccessToken(refused)
    const before = provider.countRequests({ grantType: 'refresh_token' })

    const response = await auth.fetch(as.userinfo_endpoint!)
    expect(response.status).toBe(200)
    expect(provider.countRequests({ grantType: 'refresh_token' })).toBe(before + 1)
    const renewed = (await store.get<Stored>(sessionKey(provider)))!.tokens
    expect(renewed).toMatchObject({ tokenType: 'dpop' })
    expect(renewed.accessToken).not.toBe(refused)
  })

  it('sends a POST through auth.fetch with its method, headers, body and fetch options, and a proof for it', async () => {
    const api = `${new URL(provider.issuer).origin}/api/orders`
    const sent: { url: string; init: RequestInit }[] = []
    const { auth, page } = tab(provider, createMemoryStore(), {
      fetch: (input, init) => {
        if (String(input) !== api) return fetch(input, init)
        sent.push({ url: String(input), init: init ?? {} })
        return Promise.resolve(new Response('{}', { status: 201 }))
      },
    })
    await signIn(provider, auth, page)

    const request = new Request(api, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-trace': '7' },
      body: '{"a":1}',
      referrerPolicy: 'no-referrer',
      keepalive: true,
    })
    expect((await auth.fetch(request)).status).toBe(201)

    expect(sent).toHaveLength(1)
    const { init } = sent[0]!
    const headers = new Headers(init.headers)
    expect(init.method).toBe('POST')
    expect(new TextDecoder().decode(init.body as ArrayBuffer)).toBe('{"a":1}')
    expect(headers.get('x-trace')).toBe('7')
    expect(headers.get('content-type')).toBe('application/json')
    expect(headers.get('authorization')).toMatch(/^DPoP /)
    const proof = JSON.parse(atob(headers.get('dpop')!.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as {
      htm: string
      htu: string
      ath?: string
    }
    expect(proof).toMatchObject({ htm: 'POST', htu: api })
    expect(typeof proof.ath).toBe('string')
    expect(init).toMatchObject({ referrerPolicy: 'no-referrer', keepalive: true })
  })

  it('refreshes with the same key after a reload, and the new token is bound to it', async () => {
    const store = createMemoryStore()
    const first = tab(provider, store)
    await signIn(provider, first.auth, first.page)
    const pair = await storedKey(store, provider)
    first.auth.dispose()

    const reloaded = tab(provider, store)
    await reloaded.auth.ready()
    reloaded.page.offsetMs = 31_000
    provider.resetRequests()
    const token = await reloaded.auth.getAccessToken()
    expect(provider.countRequests({ grantType: 'refresh_token' })).toBeGreaterThanOrEqual(1)
    expect(await thumbprint((await storedKey(store, provider))!)).toBe(await thumbprint(pair!))
    expect(await provider.accessTokenBinding(token)).toBe(await thumbprint(pair!))
    expect((await reloaded.auth.fetch(as.userinfo_endpoint!)).status).toBe(200)
  })

  it('three tabs asking at expiry share one successful refresh and one key', async () => {
    const store = createMemoryStore()
    const browser = createFakeTabs()
    const tabs = [
      tab(provider, store, { shared: browser }),
      tab(provider, store, { shared: browser }),
      tab(provider, store, { shared: browser }),
    ]
    await signIn(provider, tabs[0]!.auth, tabs[0]!.page)
    await browser.idle()
    for (const { auth } of tabs) expect(auth.getSnapshot().status).toBe('signed-in')

    for (const { page } of tabs) page.offsetMs = 31_000
    provider.resetRequests()
    const statuses: number[] = []
    const tokens = await Promise.all(tabs.map(({ auth }) => auth.getAccessToken()))
    expect(new Set(tokens).size).toBe(1)
    // A refresh may first be answered use_dpop_nonce when the provider's nonce rotated: that
    // retry is part of the one refresh. The provider accepted exactly one new token.
    expect(provider.countRequests({ grantType: 'refresh_token' })).toBeLessThanOrEqual(2)
    for (const { auth } of tabs) statuses.push((await auth.fetch(as.userinfo_endpoint!)).status)
    expect(statuses).toEqual([200, 200, 200])
  })

  it('signs out: revokes the refresh token and deletes the session with its key', async () => {
    const store = createMemoryStore()
    const { auth, page } = tab(provider, store)
    await signIn(provider, auth, page)
    const pair = (await storedKey(store, provider))!
    const refreshToken = (await store.get<Stored>(sessionKey(provider)))!.tokens.refreshToken!
    provider.resetRequests()

    await auth.signOut({ redirect: false })
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'signed-out', error: null })
    expect(provider.countRequests({ path: new URL(as.revocation_endpoint!).pathname })).toBe(1)
    expect(await store.get(sessionKey(provider))).toBeUndefined()

    // Even with the right key the revoked refresh token is refused.
    const handle = oauth.DPoP({}, pair)
    const refresh = async () => {
      const response = await oauth.refreshTokenGrantRequest(
        as,
        { client_id: provider.clientId },
        oauth.None(),
        refreshToken,
        { DPoP: handle, [oauth.allowInsecureRequests]: true },
      )
      return oauth.processRefreshTokenResponse(as, { client_id: provider.clientId }, response)
    }
    const error = await refresh()
      .catch((error) => (oauth.isDPoPNonceError(error) ? refresh() : Promise.reject(error)))
      .catch((error: unknown) => error)
    expect(error).toBeInstanceOf(oauth.ResponseBodyError)
    expect((error as oauth.ResponseBodyError).error).toBe('invalid_grant')
  })

  it('ends the session with reason dpop-key-lost when the key is gone, instead of failing forever', async () => {
    const store = createMemoryStore()
    const first = tab(provider, store)
    await signIn(provider, first.auth, first.page)
    first.auth.dispose()
    const { dpopKey: _lost, ...withoutKey } = (await store.get<Stored>(sessionKey(provider)))!
    await store.set(sessionKey(provider), withoutKey)

    const reloaded = tab(provider, store)
    await reloaded.auth.ready()
    expect(reloaded.auth.getSnapshot().status).toBe('signed-in')
    await expect(reloaded.auth.fetch(as.userinfo_endpoint!)).rejects.toSatisfy((error) =>
      isAuthError(error, 'dpop_key_unavailable'),
    )
    expect(reloaded.auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'dpop-key-lost' })
    expect(await store.get(sessionKey(provider))).toBeUndefined()
  })
})

describe('DPoP switched off or unsupported', () => {
  let provider: TestProvider
  let plain: TestProvider

  beforeAll(async () => {
    provider = await startTestProvider({ profile: 'strict', redirectUris: [`${APP}/callback`] })
    plain = await startTestProvider({ profile: 'strict', dpop: 'off', redirectUris: [`${APP}/callback`] })
  })
  afterAll(async () => {
    await provider.close()
    await plain.close()
  })

  it('with dpop off, issues bearer tokens and creates no key', async () => {
    const store = createMemoryStore()
    const { auth, page } = tab(provider, store, { dpop: false })
    await signIn(provider, auth, page)
    const stored = await store.get<Stored>(sessionKey(provider))
    expect(stored?.tokens.tokenType).toBe('bearer')
    expect(stored?.dpopKey).toBeUndefined()
    expect(await provider.accessTokenBinding(stored!.tokens.accessToken)).toBeNull()
    expect((await auth.fetch((await discovery(provider)).userinfo_endpoint!)).status).toBe(200)
  })

  it('refuses to start a DPoP sign-in with a provider that does not advertise DPoP', async () => {
    const { auth } = tab(plain, createMemoryStore())
    await expect(auth.createSignInUrl()).rejects.toSatisfy(
      (error) => isAuthError(error, 'dpop_unsupported') && /dpop_signing_alg_values_supported/.test(error.message),
    )
  })
})

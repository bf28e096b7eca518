// @vitest-environment node
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createAuthClient,
  createMemoryStore,
  isAuthError,
  type AuthClient,
  type AuthConfig,
  type KeyValueStore,
} from '../src/index.js'
import { expectNoSecretInErrors, noteCallback, noteError, textOf, watchErrors } from './support/error-collector.js'
import { startTestProvider, type ProviderProfile, type TestProvider } from './support/provider.js'
import { APP, appConfig, createNetwork, rejection } from './support/world.js'

afterAll(() => expectNoSecretInErrors({ errors: 12, secrets: 80 }))

/** A stand-in for one browser tab: its address bar, its navigations, its clock and its network. */
class Tab {
  url = `${APP}/orders`
  navigations: string[] = []
  clockOffsetMs = 0
  readonly network = createNetwork({ now: () => Date.now() + this.clockOffsetMs })

  client(provider: TestProvider, store: KeyValueStore, config: Partial<AuthConfig> = {}): AuthClient {
    const auth = createAuthClient(appConfig(provider, config), {
      store,
      environment: {
        now: () => Date.now() + this.clockOffsetMs,
        fetch: this.network.fetch,
        currentUrl: () => this.url,
        replaceUrl: (url) => void (this.url = url),
        navigate: (url) => void this.navigations.push(url),
      },
    })
    watchErrors(auth)
    return auth
  }
}

async function signIn(
  provider: TestProvider,
  auth: AuthClient,
  tab: Tab,
  returnTo = '/orders?page=2',
): Promise<string> {
  await auth.signIn({ returnTo })
  tab.url = noteCallback(await provider.authorize(tab.navigations.at(-1)!))
  const callbackUrl = tab.url
  const { returnTo: back } = await auth.handleRedirectCallback()
  expect(back).toBe(returnTo)
  return callbackUrl
}

async function discovery(provider: TestProvider): Promise<Record<string, string>> {
  return (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json() as Promise<Record<string, string>>
}

async function storedSession(store: KeyValueStore, provider: TestProvider) {
  return store.get<{ tokens: { refreshToken?: string; accessToken: string } }>(
    `session:${provider.issuer}|${provider.clientId}`,
  )
}

describe.each<ProviderProfile>(['authing-like', 'strict'])('against oidc-provider (%s profile)', (profile) => {
  let provider: TestProvider
  let tokenPath: string

  beforeAll(async () => {
    provider = await startTestProvider({ profile, accessTokenTtlSeconds: 30, redirectUris: [`${APP}/callback`] })
    tokenPath = `${new URL(provider.issuer).pathname.replace(/\/$/, '')}/token`
  })
  afterAll(() => provider.close())

  it('signs in with one code exchange and cleans the address bar', async () => {
    const tab = new Tab()
    const auth = tab.client(provider, createMemoryStore())
    await auth.ready()
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: null })
    provider.resetRequests()

    const authorizeUrl = new URL(await auth.createSignInUrl({ returnTo: '/orders?page=2' }))
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256')
    expect(authorizeUrl.searchParams.get('prompt')).toBe('consent')
    await signIn(provider, auth, tab)

    const state = auth.getSnapshot()
    expect(state.status).toBe('signed-in')
    expect(state.user?.sub).toBe('alice')
    expect(state.user?.name).toBe('Alice Example')
    expect(state.expiresAt).toBeGreaterThan(Date.now() + 20_000)
    expect(tab.url).toBe(`${APP}/callback`)
    expect(provider.countRequests({ path: tokenPath, grantType: 'authorization_code' })).toBe(1)
    expect(provider.countRequests({ path: tokenPath })).toBe(1)
  })

  /** A page that signed in (into a store of its own) and went away: its store, its tab and its access token. */
  async function signedInThenClosed() {
    const store = createMemoryStore()
    const tab = new Tab()
    const first = tab.client(provider, store)
    await signIn(provider, first, tab)
    const token = await first.getAccessToken()
    first.dispose()
    return { store, tab, token }
  }

  it('survives a reload from the store with zero requests to the provider', async () => {
    const { store, tab, token } = await signedInThenClosed()

    provider.resetRequests()
    const reloaded = tab.client(provider, store)
    await reloaded.ready()
    expect(reloaded.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice' } })
    expect(await reloaded.getAccessToken()).toBe(token)
    await reloaded.createSignInUrl()
    expect(provider.requests).toEqual([])
  })

  it('hands out the stored token to a getAccessToken() made before the reloaded page is ready, with no refresh', async () => {
    const { store, tab, token } = await signedInThenClosed()

    provider.resetRequests()
    // An app that asks for a token as its page loads: the stored session is not read yet.
    const reloaded = tab.client(provider, store)
    expect(await reloaded.getAccessToken()).toBe(token)
    expect(provider.requests).toEqual([])
    reloaded.dispose()
  })

  it('arms no refresh timer for a client disposed while its stored session was loading', async () => {
    const store = createMemoryStore()
    const tab = new Tab()
    const first = tab.client(provider, store)
    await signIn(provider, first, tab)
    expect(first.nextRefreshAt()).toBeTypeOf('number')
    first.dispose()

    const discarded = tab.client(provider, store)
    discarded.dispose()
    await discarded.ready()
    expect(discarded.nextRefreshAt()).toBeUndefined()
  })

  it('refuses every call once disposed, with the disposed code', async () => {
    const tab = new Tab()
    const auth = tab.client(provider, createMemoryStore())
    await signIn(provider, auth, tab)
    auth.dispose()
    const disposed = (error: unknown) => isAuthError(noteError(error), 'disposed')
    await expect(auth.getAccessToken()).rejects.toSatisfy(disposed)
    await expect(auth.fetch(`${APP}/api`)).rejects.toSatisfy(disposed)
    await expect(auth.createSignInUrl()).rejects.toSatisfy(disposed)
    await expect(auth.refresh()).rejects.toSatisfy(disposed)
  })

  it('calls the userinfo endpoint through auth.fetch with the access token', async () => {
    const tab = new Tab()
    const auth = tab.client(provider, createMemoryStore())
    await signIn(provider, auth, tab)
    const response = await auth.fetch((await discovery(provider)).userinfo_endpoint!)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ sub: 'alice', name: 'Alice Example' })
  })

  it('refreshes an expired access token once, however many callers ask at once', async () => {
    const store = createMemoryStore()
    const tab = new Tab()
    const auth = tab.client(provider, store)
    await signIn(provider, auth, tab)
    const before = await storedSession(store, provider)
    provider.resetRequests()

    tab.clockOffsetMs = 31_000
    const tokens = await Promise.all(Array.from({ length: 100 }, () => auth.getAccessToken()))
    expect(new Set(tokens).size).toBe(1)
    expect(tokens[0]).not.toBe(before?.tokens.accessToken)
    expect(provider.countRequests({ path: tokenPath, grantType: 'refresh_token' })).toBe(1)

    const after = await storedSession(store, provider)
    expect(after?.tokens.accessToken).toBe(tokens[0])
    if (profile === 'strict') expect(after?.tokens.refreshToken).not.toBe(before?.tokens.refreshToken)
    else expect(after?.tokens.refreshToken).toBe(before?.tokens.refreshToken)
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice' }, error: null })
    const userinfo = await auth.fetch((await discovery(provider)).userinfo_endpoint!)
    expect(userinfo.status).toBe(200)
  })

  it('signs out: revokes the refresh token, wipes the store and ends the provider session', async () => {
    const store = createMemoryStore()
    const tab = new Tab()
    const auth = tab.client(provider, store)
    await signIn(provider, auth, tab)
    const refreshToken = (await storedSession(store, provider))?.tokens.refreshToken
    expect(refreshToken).toBeTypeOf('string')
    const { revocation_endpoint, end_session_endpoint, token_endpoint } = await discovery(provider)
    provider.resetRequests()

    await auth.signOut()
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'signed-out', error: null })
    expect(await storedSession(store, provider)).toBeUndefined()
    expect(provider.countRequests({ path: new URL(revocation_endpoint!).pathname })).toBe(1)
    const logout = new URL(tab.navigations.at(-1)!)
    expect(logout.origin + logout.pathname).toBe(end_session_endpoint)
    expect(logout.searchParams.get('id_token_hint')).toMatch(/^ey/)
    expect(logout.searchParams.get('post_logout_redirect_uri')).toBe(`${APP}/`)

    const reuse = await fetch(token_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken!,
        client_id: provider.clientId,
      }),
    })
    expect(reuse.status).toBe(400)
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' })
    await expect(auth.getAccessToken()).rejects.toSatisfy((error) => isAuthError(noteError(error), 'not_signed_in'))
  })

  it('a page that guards itself with signIn() leaves for the sign-out, not for a new sign-in', async () => {
    const tab = new Tab()
    const auth = tab.client(provider, createMemoryStore())
    await signIn(provider, auth, tab)
    const { end_session_endpoint } = await discovery(provider)
    const guarded: Promise<void>[] = []
    // A guarded page: whenever nobody is signed in, it starts a sign-in to come back to itself.
    auth.subscribe(() => {
      if (auth.getSnapshot().status === 'signed-out') guarded.push(auth.signIn({ returnTo: '/orders' }))
    })
    tab.navigations = []

    await auth.signOut()
    await Promise.all(guarded)

    expect(guarded.length).toBeGreaterThan(0)
    // The provider still holds its own session until the sign-out reaches it: a sign-in sent first
    // would come straight back signed in.
    expect(tab.navigations.map((url) => url.split('?')[0])).toEqual([end_session_endpoint])
  })

  it('a sign-out that stays on the page (redirect: false) lets the guarded page sign in again', async () => {
    const tab = new Tab()
    const auth = tab.client(provider, createMemoryStore())
    await signIn(provider, auth, tab)
    const { authorization_endpoint } = await discovery(provider)
    const guarded: Promise<void>[] = []
    auth.subscribe(() => {
      if (auth.getSnapshot().status === 'signed-out') guarded.push(auth.signIn({ returnTo: '/orders' }))
    })
    tab.navigations = []

    await auth.signOut({ redirect: false })
    await Promise.all(guarded)

    expect(tab.navigations.map((url) => url.split('?')[0])).toEqual([authorization_endpoint])
  })

  it('ends the session with reason refresh-rejected when the provider revoked the refresh token', async () => {
    const store = createMemoryStore()
    const tab = new Tab()
    const auth = tab.client(provider, store)
    await signIn(provider, auth, tab)
    const refreshToken = (await storedSession(store, provider))?.tokens.refreshToken
    const { revocation_endpoint } = await discovery(provider)
    await fetch(revocation_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshToken!, client_id: provider.clientId }),
    })

    tab.clockOffsetMs = 31_000
    await expect(auth.getAccessToken()).rejects.toSatisfy((error) => isAuthError(noteError(error), 'grant_rejected'))
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'refresh-rejected' })
    expect(await storedSession(store, provider)).toBeUndefined()
  })
})

// Two providers of the default (strict) profile, for what involves a second client or DPoP.
let primary: TestProvider
let other: TestProvider

beforeAll(async () => {
  const redirectUris = [`${APP}/callback`]
  ;[primary, other] = await Promise.all([
    startTestProvider({ redirectUris }),
    startTestProvider({ redirectUris, clientId: 'spa-other' }),
  ])
})
afterAll(() => Promise.all([primary, other].map((provider) => provider.close())))

describe('a sign-in only the client that started it completes', () => {
  it.each([
    { bystander: 'a client of another provider', open: (tab: Tab, store: KeyValueStore) => tab.client(other, store) },
    {
      bystander: 'another client id at the same provider',
      open: (tab: Tab, store: KeyValueStore) => tab.client(primary, store, { clientId: 'spa-other' }),
    },
  ])(
    'is refused by $bystander on the same store with transaction_client_mismatch and no token request, then completed by its own client',
    async ({ open }) => {
      const store = createMemoryStore()
      const tab = new Tab()
      const starter = tab.client(primary, store)
      const bystander = open(tab, store)
      const callbackUrl = noteCallback(await primary.authorize(await starter.createSignInUrl({ returnTo: '/orders' })))

      const error = await rejection(bystander.handleRedirectCallback(callbackUrl))
      expect(isAuthError(error, 'transaction_client_mismatch'), String(error)).toBe(true)
      expect(tab.network.tokenRequests()).toEqual([])
      expect(bystander.getSnapshot()).toMatchObject({ status: 'signed-out' })

      expect(await starter.handleRedirectCallback(callbackUrl)).toMatchObject({ returnTo: '/orders' })
      expect(starter.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice' } })
      expect(tab.network.tokenRequests().map(({ url }) => new URL(url).origin)).toEqual([
        new URL(primary.issuer).origin,
      ])
    },
  )
})

describe('a sign-in with dpop: true', () => {
  it('refuses a code exchange answered with a Bearer token with token_type_mismatch, and keeps the DPoP session', async () => {
    const store = createMemoryStore()
    const tab = new Tab()
    const auth = tab.client(primary, store, { dpop: true })
    await signIn(primary, auth, tab)
    const before = auth.getSnapshot()
    const accessToken = await auth.getAccessToken()
    expect(await primary.accessTokenBinding(accessToken)).toEqual(expect.any(String))

    tab.network.intercept(async ({ params, forward }) => {
      if (params.get('grant_type') !== 'authorization_code') return undefined
      const issued = (await (await forward()).json()) as Record<string, unknown>
      return Response.json({ ...issued, token_type: 'Bearer' }, { headers: { 'cache-control': 'no-store' } })
    })
    const callbackUrl = noteCallback(await primary.authorize(await auth.createSignInUrl({ returnTo: '/second' })))
    const error = await rejection(auth.handleRedirectCallback(callbackUrl))
    expect(isAuthError(error, 'token_type_mismatch'), String(error)).toBe(true)
    expect(tab.network.tokenRequests('authorization_code')).toHaveLength(2)

    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: before.user, expiresAt: before.expiresAt })
    expect(await auth.getAccessToken()).toBe(accessToken)
    const reloaded = tab.client(primary, store, { dpop: true })
    await reloaded.ready()
    expect(await reloaded.getAccessToken()).toBe(accessToken)
    const userinfo = await reloaded.fetch((await discovery(primary)).userinfo_endpoint!)
    expect(userinfo.status).toBe(200)
  })
})

describe('a provider whose error pages echo the request', () => {
  it('with dpop: true, a 500 echoing a refresh or a userinfo request holds no refresh token, access token or DPoP proof', async () => {
    const tab = new Tab()
    const auth = tab.client(primary, createMemoryStore(), { dpop: true })
    await signIn(primary, auth, tab)
    const sent: string[] = []
    tab.network.intercept(({ url, params, headers }) => {
      const credentials = [params.get('refresh_token'), headers.get('authorization'), headers.get('dpop')]
      sent.push(...credentials.filter((value): value is string => value !== null).map((v) => v.replace(/^DPoP /, '')))
      const echo = [`POST ${url}`, ...[...headers].map(([name, value]) => `${name}: ${value}`), '', params].join('\n')
      return new Response(`Bad gateway, while handling:\n${echo}`, { status: 502 })
    })

    const refreshed = await rejection(auth.refresh())
    const userinfo = await rejection(auth.getUserInfo())

    expect(isAuthError(refreshed, 'provider_unavailable'), String(refreshed)).toBe(true)
    expect(isAuthError(userinfo, 'provider_unavailable'), String(userinfo)).toBe(true)
    // A refresh token, an access token and at least two proofs went out.
    expect(sent.length).toBeGreaterThanOrEqual(4)
    for (const error of [refreshed, userinfo, auth.getSnapshot().error]) {
      const text = await textOf(error)
      expect(text).toContain('Bad gateway')
      for (const secret of sent) expect(text).not.toContain(secret)
    }
  })
})

describe('ready()', () => {
  // React 19's use(auth.ready()) suspends until the promise it was given settles: a new promise
  // on every render would suspend forever.
  it('hands out the same promise on every call, which resolves even when the store cannot be read', async () => {
    const unreadable: KeyValueStore = {
      ...createMemoryStore(),
      get: () => Promise.reject(new DOMException('The store failed to read.', 'UnknownError')),
    }
    const auth = new Tab().client(primary, unreadable)
    const first = auth.ready()
    expect(auth.ready()).toBe(first)
    await expect(first).resolves.toBeUndefined()
    expect(auth.ready()).toBe(first)
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', error: { code: 'storage_error' } })
  })
})

/**
 * The code of the guides in docs/, run as an app runs it: every snippet below is a guide's, line for
 * line (test/docs.test.ts finds each code block of the README and the guides in a file a test runs).
 * A snippet that creates its own client runs on the browser's default environment, the provider's
 * `fetch` standing in for the network; the others take a client of the provider's in-memory browser.
 * Under happy-dom and under jsdom, like the other tests of test/examples.
 */
import { createAuthClient, isAuthError } from 'spa-auth'
import { createTestProvider, type TestProvider, type TestProviderOptions } from 'spa-auth/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'

// The type checker reads 'spa-auth' through the browser test app's declaration, which names its values only.
type AuthClient = ReturnType<typeof createAuthClient>
type UserClaims = Extract<ReturnType<AuthClient['getSnapshot']>, { status: 'signed-in' }>['user']

const alice = { sub: 'alice', name: 'Alice' }
let provider: TestProvider | undefined
/** Clients a snippet created itself, with the browser's default environment. */
const ownClients: AuthClient[] = []

/** A provider whose `fetch` answers the page's requests, as the network would. */
function startProvider(options: TestProviderOptions = {}): TestProvider {
  provider = createTestProvider(options)
  vi.stubGlobal('fetch', provider.fetch)
  return provider
}

afterEach(() => {
  for (const client of ownClients.splice(0)) client.dispose()
  provider?.dispose()
  provider = undefined
  sessionStorage.clear()
  vi.unstubAllGlobals()
})

/** The authorization request the provider received last. */
function authorizeRequest(at: TestProvider): URLSearchParams {
  const request = [...at.requests].reverse().find((entry) => entry.endpoint === 'authorize')
  if (request === undefined) throw new Error('No authorization request reached the provider.')
  return new URL(request.url).searchParams
}

describe('providers.md', () => {
  it('signs in at a provider set up as Authing is, and refreshes with the refresh token it kept', async () => {
    const provider = startProvider({ issuer: 'https://my-app.authing.cn/oidc', clientId: 'APP_ID' })

    const auth = createAuthClient({
      issuer: 'https://my-app.authing.cn/oidc', // the user-pool domain when SSO is on
      clientId: 'APP_ID',
      redirectUri: `${location.origin}/callback`,
      postLogoutRedirectUri: `${location.origin}/`,
    })
    ownClients.push(auth)

    await provider.signIn(auth, alice)
    expect(authorizeRequest(provider).get('scope')).toBe('openid profile offline_access')
    expect(authorizeRequest(provider).get('prompt')).toBe('consent')
    await auth.refresh()
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice' } })
    expect(provider.requests.filter((request) => request.grantType === 'refresh_token')).toHaveLength(1)
  })

  it("revokes at sign-out on the endpoint the configuration names (django-oauth-toolkit's discovery has none)", async () => {
    const provider = startProvider({ issuer: 'https://auth.example.com/o', clientId: 'APP_ID' })

    const auth = createAuthClient({
      issuer: 'https://auth.example.com/o', // exactly as in /o/.well-known/openid-configuration
      clientId: 'APP_ID',
      redirectUri: `${location.origin}/callback`,
      postLogoutRedirectUri: `${location.origin}/`,
      endpoints: { revocation: 'https://auth.example.com/o/revoke_token/' },
    })
    ownClients.push(auth)

    await provider.signIn(auth, alice)
    await auth.signOut({ redirect: false })
    expect(provider.requests.at(-1)).toMatchObject({ method: 'POST', url: 'https://auth.example.com/o/revoke_token/' })
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'signed-out' })
  })

  it('asks a Keycloak realm for a code with PKCE S256, as a public client, and signs in', async () => {
    const provider = startProvider({ issuer: 'https://sso.example.com/realms/my-realm', clientId: 'my-spa' })

    const auth = createAuthClient({
      issuer: 'https://sso.example.com/realms/my-realm', // before Keycloak 17: …/auth/realms/my-realm
      clientId: 'my-spa',
      redirectUri: `${location.origin}/callback`,
      postLogoutRedirectUri: `${location.origin}/`,
    })
    ownClients.push(auth)

    const url = new URL(await auth.createSignInUrl())
    expect(`${url.origin}${url.pathname}`).toBe(provider.endpoints.authorization)
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: 'my-spa',
      redirect_uri: 'http://localhost:3000/callback',
      code_challenge_method: 'S256',
    })
    await provider.signIn(auth, alice)
    expect(auth.getSnapshot().status).toBe('signed-in')
  })
})

describe('popup.md', () => {
  it('signs in with a redirect when the browser blocks the popup', async () => {
    const provider = startProvider()
    vi.stubGlobal('open', () => null)
    const auth = provider.createClient()

    async function signInHere() {
      try {
        await auth.signInWithPopup() // first thing in the click handler: browsers open popups only there
      } catch (error) {
        // Blocked: sign in with a redirect instead. Closed: the user changed their mind.
        if (isAuthError(error, 'popup_blocked')) await auth.signIn()
        else if (!isAuthError(error, 'popup_closed')) throw error
      }
    }

    await signInHere()
    expect(provider.navigations).toEqual([expect.stringMatching(`^${provider.endpoints.authorization}\\?`)])
    await provider.completeSignIn(auth, alice)
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice' } })
  })
})

describe('silent-sign-in.md', () => {
  it('checks once per browser session; a provider without a session leaves the visitor signed out', async () => {
    const provider = startProvider()
    const showWelcome = vi.fn<(user: UserClaims) => void>()

    /** What the page runs at every load. */
    async function load(auth: AuthClient) {
      await auth.ready() // the stored session is loaded: the status is signed-in or signed-out
      if (auth.isRedirectCallback()) {
        const result = await auth.handleRedirectCallback()
        history.replaceState(null, '', result.returnTo)
        if (result.signedIn) showWelcome(result.user)
      } else if (auth.getSnapshot().status === 'signed-out' && !sessionStorage.getItem('silent-check')) {
        sessionStorage.setItem('silent-check', 'done')
        await auth.signIn({ prompt: 'none' }) // leaves the page, and is back at redirectUri at once
      }
    }

    await load(provider.createClient())
    const [authorize] = provider.navigations
    const asked = new URL(authorize!).searchParams
    expect(asked.get('prompt')).toBe('none')

    // The provider has no session: it sends the browser back with login_required (OIDC Core §3.1.2.6).
    const back = new URL(provider.config.redirectUri)
    back.search = new URLSearchParams({
      error: 'login_required',
      state: asked.get('state')!,
      iss: provider.issuer,
    }).toString()
    const atCallback = provider.createClient({}, { url: back.href })
    await load(atCallback)
    expect(atCallback.getSnapshot()).toMatchObject({ status: 'signed-out' })
    expect(showWelcome).not.toHaveBeenCalled()

    await load(provider.createClient())
    expect(provider.navigations).toHaveLength(1)
  })
})

describe('apis.md', () => {
  it('gives each API a token of its own, chosen by the request’s origin', async () => {
    const sent = new Map<string, string | null>()
    const provider = startProvider({
      issuer: 'https://id.example.com',
      clientId: 'APP_ID',
      api: (request) => {
        sent.set(new URL(request.url).origin, request.headers.get('authorization'))
        return Response.json({ orders: [] })
      },
    })

    const auth = createAuthClient({
      issuer: 'https://id.example.com',
      clientId: 'APP_ID',
      redirectUri: `${location.origin}/callback`,
      apiOrigins: {
        'https://orders.example.com': 'https://orders.example.com/',
        'https://billing.example.com': 'urn:example:billing',
      },
    })
    ownClients.push(auth)
    await provider.signIn(auth, alice)
    expect(authorizeRequest(provider).getAll('resource')).toEqual([
      'https://orders.example.com/',
      'urn:example:billing',
    ])

    const orders = await auth.fetch('https://orders.example.com/v1/orders') // the orders API's token
    const billingToken = await auth.getAccessToken({ resource: 'urn:example:billing' })
    const sessionToken = await auth.getAccessToken() // the session's own token (userinfo)

    expect(orders.status).toBe(200)
    const ordersToken = sent.get('https://orders.example.com')?.replace(/^Bearer /, '')
    expect(new Set([ordersToken, billingToken, sessionToken]).size).toBe(3)
    expect(await auth.getAccessToken({ resource: 'https://orders.example.com/' })).toBe(ordersToken)
  })
})

describe('dpop.md', () => {
  it('binds the tokens to a key, and auth.fetch sends the API a DPoP-bound token with a proof', async () => {
    let received: { proof: string | null; tokenType: string | undefined } | undefined
    const provider = startProvider({
      dpop: true,
      api: (request, access) => {
        received = { proof: request.headers.get('dpop'), tokenType: access?.tokenType }
        return new Response(null, { status: 204 })
      },
    })
    const { issuer, clientId, redirectUri } = provider.config
    const apiOrigin = 'https://api.example.com'

    const auth = createAuthClient({ issuer, clientId, redirectUri, dpop: true, apiOrigins: [apiOrigin] })
    ownClients.push(auth)

    await provider.signIn(auth, alice)
    expect((await auth.fetch(`${apiOrigin}/orders`)).status).toBe(204)
    expect(received).toEqual({ proof: expect.any(String), tokenType: 'DPoP' })
  })
})

describe('errors.md', () => {
  it('tells that a refresh failed while the session lasts, and why it ended', async () => {
    const provider = startProvider()
    const banners: string[] = []
    const showBanner = (text: string) => void banners.push(text)
    const auth = provider.createClient()
    await provider.signIn(auth, alice)

    auth.subscribe(() => {
      const { status, reason, error } = auth.getSnapshot()
      if (status === 'signed-out' && reason === 'refresh-rejected') showBanner('Your session has ended. Sign in again.')
      else if (status === 'signed-in' && error) showBanner(`Still signed in; the last refresh failed (${error.code}).`)
    })

    provider.failNextRefresh('server_error')
    provider.expireAccessTokens()
    await provider.idle()
    expect(banners.at(-1)).toBe('Still signed in; the last refresh failed (provider_unavailable).')

    provider.failNextRefresh('invalid_grant')
    provider.advanceTime(5 * 60_000)
    await provider.idle()
    expect(banners.at(-1)).toBe('Your session has ended. Sign in again.')
  })
})

// @vitest-environment node
import { decodeJwt } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { isAuthError, type AuthConfig } from '../src/index.js'
import { startTestProvider, type TestProvider } from './support/provider.js'
import { APP, createWorld, disposeOpenTabs, openTab, signIn, type Tab, type World } from './support/world.js'

const ORDERS = 'https://orders.example.com/'
const BILLING = 'https://billing.example.com/'
/** Each API's origin mapped to its resource indicator (RFC 8707). */
const apis = (): Partial<AuthConfig> => ({
  apiOrigins: { 'https://orders.example.com': ORDERS, 'https://billing.example.com': BILLING },
})

let provider: TestProvider

beforeAll(async () => {
  provider = await startTestProvider({
    profile: 'strict',
    accessTokenTtlSeconds: 120,
    redirectUris: [`${APP}/callback`],
    resourceServers: { [ORDERS]: {}, [BILLING]: {} },
  })
})
afterAll(() => provider.close())
afterEach(disposeOpenTabs)

const audience = (token: string) => decodeJwt(token).aud

describe('tokens for several APIs with one sign-in (RFC 8707)', () => {
  it('asks for every configured resource at sign-in, then gives each API a token of its own', async () => {
    const { auth } = openTab(provider, createWorld(), {}, apis())
    const url = new URL(await auth.createSignInUrl())
    expect(url.searchParams.getAll('resource')).toEqual([ORDERS, BILLING])
    await signIn(provider, auth)

    const orders = await auth.getAccessToken({ resource: ORDERS })
    const billing = await auth.getAccessToken({ resource: BILLING })
    expect(audience(orders)).toBe(ORDERS)
    expect(audience(billing)).toBe(BILLING)
    // The session's own token is still the one userinfo takes.
    expect(await auth.getUserInfo()).toMatchObject({ sub: 'alice' })
    // Asked again, each comes from memory.
    expect(await auth.getAccessToken({ resource: ORDERS })).toBe(orders)
  })

  it("sends each API its own token through auth.fetch, chosen by the request's origin", async () => {
    const sent: Array<{ host: string; token: string }> = []
    const tab: Tab = openTab(
      provider,
      createWorld(),
      {
        fetch: (input, init) => {
          const url = new URL(input instanceof Request ? input.url : String(input))
          if (!url.hostname.endsWith('.example.com')) return tab.network.fetch(input, init)
          const authorization = new Headers(init?.headers).get('authorization') ?? ''
          sent.push({ host: url.hostname, token: authorization.replace(/^Bearer /, '') })
          return Promise.resolve(new Response('ok'))
        },
      },
      apis(),
    )
    await signIn(provider, tab.auth)

    await tab.auth.fetch('https://orders.example.com/orders/1')
    await tab.auth.fetch('https://billing.example.com/invoices', { method: 'POST', body: '{}' })

    expect(sent.map(({ host, token }) => [host, audience(token)])).toEqual([
      ['orders.example.com', ORDERS],
      ['billing.example.com', BILLING],
    ])
  })

  it('refreshes each resource once per lifetime across three tabs, and never meets invalid_grant', async () => {
    const world: World = createWorld()
    const tabs = [1, 2, 3].map(() => openTab(provider, world, {}, apis()))
    await signIn(provider, tabs[0]!.auth)
    await world.browser.idle()
    provider.resetRequests()

    // Three token lifetimes, every tab asking for both APIs' tokens every 10 s.
    for (let elapsed = 0; elapsed < 360_000; elapsed += 10_000) {
      await world.clock.advance(10_000)
      await Promise.all(
        tabs.flatMap(({ auth }) => [
          auth.getAccessToken({ resource: ORDERS }),
          auth.getAccessToken({ resource: BILLING }),
        ]),
      )
    }
    await world.browser.idle()

    const grants = tabs.flatMap(({ network }) => network.tokenRequests('refresh_token'))
    const forResource = (resource: string) => grants.filter((grant) => grant.resource === resource)
    // Each lifetime (120 s) sees one grant per resource, and one for the session's own token.
    expect(forResource(ORDERS).length).toBeLessThanOrEqual(4)
    expect(forResource(BILLING).length).toBeLessThanOrEqual(4)
    expect(grants.every((grant) => grant.status === 200)).toBe(true)
    for (const { auth } of tabs) expect(auth.getSnapshot().status).toBe('signed-in')
  })

  it('refuses a resource the sign-in did not ask for without asking the provider, and keeps the session', async () => {
    const { auth, network } = openTab(provider, createWorld(), {}, apis())
    await signIn(provider, auth)

    const error = await auth.getAccessToken({ resource: 'https://unknown.example.com/' }).catch((caught) => caught)
    expect(isAuthError(error, 'invalid_config'), String(error)).toBe(true)
    // oidc-provider rotates the refresh token before it refuses an unknown resource: asking would cost the session.
    expect(network.tokenRequests('refresh_token')).toHaveLength(0)
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: null })
    expect(audience(await auth.getAccessToken({ resource: ORDERS }))).toBe(ORDERS)
  })

  it('revokes the one refresh token once at sign-out', async () => {
    const { auth, network } = openTab(provider, createWorld(), {}, apis())
    await signIn(provider, auth)
    await auth.getAccessToken({ resource: ORDERS })
    await auth.signOut({ redirect: false })

    expect(network.exchanges.filter((exchange) => exchange.url.endsWith('/token/revocation'))).toHaveLength(1)
  })
})

// @vitest-environment node
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startTestProvider, type TestProvider } from './support/provider.js'
import { APP, createWorld, disposeOpenTabs, openTab, signIn } from './support/world.js'

/** A provider like django-oauth-toolkit: revocation works, but its OIDC discovery does not list it. */
let unlisted: TestProvider
/** A provider that publishes scopes_supported without offline_access. */
let narrow: TestProvider

beforeAll(async () => {
  const redirectUris = [`${APP}/callback`]
  ;[unlisted, narrow] = await Promise.all([
    startTestProvider({ revocationInDiscovery: false, redirectUris }),
    startTestProvider({ scopesSupported: ['openid', 'profile'], redirectUris }),
  ])
})
afterAll(async () => {
  await Promise.all([unlisted, narrow].map((provider) => provider?.close()))
})
afterEach(disposeOpenTabs)

const revocations = (provider: TestProvider) =>
  provider.countRequests({ path: new URL(provider.revocationEndpoint).pathname })

describe('providers that bend the spec', () => {
  it('revokes at sign-out through an endpoint the configuration names when discovery lists none', async () => {
    const { auth } = openTab(unlisted, createWorld(), {}, { endpoints: { revocation: unlisted.revocationEndpoint } })
    await signIn(unlisted, auth)
    unlisted.resetRequests()

    await auth.signOut({ redirect: false })
    expect(revocations(unlisted)).toBe(1)
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', error: null })
  })

  it('skips revocation where discovery lists none and no override is set', async () => {
    const { auth } = openTab(unlisted, createWorld())
    await signIn(unlisted, auth)
    unlisted.resetRequests()

    await auth.signOut({ redirect: false })
    expect(revocations(unlisted)).toBe(0)
  })

  it("leaves offline_access out of the default scope when the provider's scopes_supported lacks it", async () => {
    const { auth } = openTab(narrow, createWorld())
    const url = new URL(await auth.createSignInUrl())
    expect(url.searchParams.get('scope')).toBe('openid profile')
    expect(url.searchParams.has('prompt')).toBe(false)
  })

  it('sends an explicit scope exactly as given', async () => {
    const { auth } = openTab(narrow, createWorld(), {}, { scope: 'openid profile offline_access' })
    const url = new URL(await auth.createSignInUrl())
    expect(url.searchParams.get('scope')).toBe('openid profile offline_access')
  })
})

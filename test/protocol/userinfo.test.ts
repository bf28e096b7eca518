// @vitest-environment node
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { isAuthError } from '../../src/index.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { APP, createWorld, disposeOpenTabs, openTab, signIn } from '../support/world.js'

let provider: TestProvider
let dpop: TestProvider

beforeAll(async () => {
  const redirectUris = [`${APP}/callback`]
  ;[provider, dpop] = await Promise.all([
    startTestProvider({ profile: 'strict', redirectUris }),
    startTestProvider({ profile: 'strict', dpop: 'required', redirectUris }),
  ])
})
afterAll(async () => {
  await Promise.all([provider, dpop].map((each) => each?.close()))
})
afterEach(disposeOpenTabs)

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

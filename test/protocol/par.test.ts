// @vitest-environment node
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { isAuthError } from '../../src/index.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { APP, createWorld, disposeOpenTabs, openTab, signIn } from '../support/world.js'

let required: TestProvider
let offered: TestProvider
let plain: TestProvider
let dpop: TestProvider

beforeAll(async () => {
  const redirectUris = [`${APP}/callback`]
  ;[required, offered, plain, dpop] = await Promise.all([
    startTestProvider({ par: 'required', redirectUris }),
    startTestProvider({ par: 'on', redirectUris }),
    startTestProvider({ redirectUris }),
    startTestProvider({ par: 'required', dpop: 'required', redirectUris }),
  ])
})
afterAll(async () => {
  await Promise.all([required, offered, plain, dpop].map((provider) => provider?.close()))
})
afterEach(disposeOpenTabs)

describe('pushed authorization requests (RFC 9126)', () => {
  it('pushes the request to a provider that requires it: the URL carries only client_id and request_uri', async () => {
    const { auth, network } = openTab(required, createWorld())
    const url = new URL(await auth.createSignInUrl())

    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri'])
    const pushed = network.exchanges.filter((exchange) => exchange.url.endsWith('/request'))
    expect(pushed.map((exchange) => exchange.status)).toEqual([201])
  })

  it('signs in through a pushed request', async () => {
    const { auth } = openTab(required, createWorld())
    await signIn(required, auth)
  })

  it("pushes by default ('auto') where discovery offers it, and sends a plain URL with par: 'never'", async () => {
    const pushing = openTab(offered, createWorld())
    expect(new URL(await pushing.auth.createSignInUrl()).searchParams.has('request_uri')).toBe(true)

    const { auth } = openTab(offered, createWorld(), {}, { par: 'never' })
    const url = new URL(await auth.createSignInUrl())
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
    expect(url.searchParams.has('request_uri')).toBe(false)
    await signIn(offered, auth)
  })

  it("refuses par: 'always' where the provider offers none, and par: 'never' where it requires it", async () => {
    const always = openTab(plain, createWorld(), {}, { par: 'always' })
    await expect(always.auth.createSignInUrl()).rejects.toSatisfy(
      (error) => isAuthError(error, 'invalid_config') && /pushed_authorization_request_endpoint/.test(error.message),
    )
    const never = openTab(required, createWorld(), {}, { par: 'never' })
    await expect(never.auth.createSignInUrl()).rejects.toSatisfy((error) => isAuthError(error, 'invalid_config'))
  })

  it('pushes with a DPoP proof, and the tokens are bound to the sign-in key', async () => {
    const { auth } = openTab(dpop, createWorld(), {}, { dpop: true })
    await signIn(dpop, auth)

    expect(await auth.getUserInfo()).toMatchObject({ sub: 'alice' })
  })
})

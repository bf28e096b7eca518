// @vitest-environment node
/**
 * The code exchange of a sign-in that asked for `acr_values` (a step-up, RFC 9470): the ID token must
 * carry one of them as its `acr`, against oidc-provider offering two authentication levels.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { isAuthError, type AuthClient } from '../../src/index.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { APP, createWorld, disposeOpenTabs, openTab, rejection, signIn } from '../support/world.js'

const PASSWORD = 'urn:spa-auth:password'
const MFA = 'urn:spa-auth:mfa'

let levels: TestProvider
let plain: TestProvider

beforeAll(async () => {
  const redirectUris = [`${APP}/callback`]
  ;[levels, plain] = await Promise.all([
    startTestProvider({ acrValues: [PASSWORD, MFA], redirectUris }),
    startTestProvider({ redirectUris }),
  ])
})
afterAll(async () => {
  await Promise.all([levels, plain].map((each) => each?.close()))
})
afterEach(disposeOpenTabs)

/** The sign-in's callback, for a sign-in with these `authorizeParams`. */
async function callbackFor(provider: TestProvider, auth: AuthClient, authorizeParams: Record<string, string>) {
  return provider.authorize(await auth.createSignInUrl({ returnTo: '/transfers', authorizeParams }))
}

describe('a sign-in that asked for acr_values', () => {
  it('signs in when the ID token carries one of the acr_values asked for, and keeps it in the user', async () => {
    const { auth } = openTab(levels, createWorld())
    await signIn(levels, auth)

    await auth.handleRedirectCallback(
      await callbackFor(levels, auth, { acr_values: `urn:spa-auth:hwk ${MFA}`, max_age: '300' }),
    )
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice', acr: MFA } })
  })

  it('refuses an ID token whose acr is none of those asked for with acr_not_satisfied, and keeps the session', async () => {
    const { auth } = openTab(levels, createWorld())
    await signIn(levels, auth)
    const before = auth.getSnapshot()

    // The provider does not offer this level: it signs the user in with its first one instead.
    const error = await rejection(
      auth.handleRedirectCallback(await callbackFor(levels, auth, { acr_values: 'urn:spa-auth:hwk' })),
    )
    expect(isAuthError(error, 'acr_not_satisfied'), String(error)).toBe(true)
    expect((error as Error).message).toContain(PASSWORD)
    expect((error as Error).message).toContain('urn:spa-auth:hwk')
    expect(auth.getSnapshot()).toEqual(before)
  })

  it('refuses an ID token without acr with acr_not_satisfied', async () => {
    const { auth } = openTab(plain, createWorld())
    await auth.ready()

    const error = await rejection(auth.handleRedirectCallback(await callbackFor(plain, auth, { acr_values: MFA })))
    expect(isAuthError(error, 'acr_not_satisfied'), String(error)).toBe(true)
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out' })
  })
})

// @vitest-environment node
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createMemoryStore, isAuthError, type KeyValueStore } from '../../src/index.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { APP, createWorld, disposeOpenTabs, openTab, rejection, signIn } from '../support/world.js'

let provider: TestProvider

beforeAll(async () => {
  provider = await startTestProvider({ redirectUris: [`${APP}/callback`] })
})
afterAll(() => provider.close())
afterEach(disposeOpenTabs)

const interactions = () => provider.requests.filter((request) => request.path.includes('/interaction/')).length

describe('a silent sign-in check (prompt: none)', () => {
  it('resolves signed out with login_required when the provider has no session, and keeps the session', async () => {
    const { auth } = openTab(provider, createWorld())
    await signIn(provider, auth)
    const before = await auth.getAccessToken()

    // A fresh cookie jar: the provider knows nobody in this browser.
    const callbackUrl = await provider.authorize(await auth.createSignInUrl({ prompt: 'none', returnTo: '/home' }))
    const result = await auth.handleRedirectCallback(callbackUrl)

    expect(result).toEqual({ signedIn: false, returnTo: '/home', user: null, reason: 'login_required' })
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: null })
    expect(await auth.getAccessToken()).toBe(before)
  })

  it('signs in with no page shown when the provider has a session', async () => {
    const browser = provider.createBrowserSession()
    const first = openTab(provider, createWorld())
    await first.auth.handleRedirectCallback(await browser.authorize(await first.auth.createSignInUrl()))

    const { auth } = openTab(provider, createWorld())
    provider.resetRequests()
    const callbackUrl = await browser.authorize(await auth.createSignInUrl({ prompt: 'none' }))
    const result = await auth.handleRedirectCallback(callbackUrl)

    expect(result).toMatchObject({ signedIn: true, user: { sub: 'alice' } })
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in' })
    expect(interactions()).toBe(0)
    expect(new URL(callbackUrl).searchParams.has('code')).toBe(true)
  })

  it('sends prompt=none instead of the prompt=consent offline_access would add', async () => {
    const { auth } = openTab(provider, createWorld())
    const url = new URL(await auth.createSignInUrl({ prompt: 'none' }))
    expect(url.searchParams.get('prompt')).toBe('none')
  })
})

/** A store adapter with a common bug: it keeps values as JSON, so a CryptoKeyPair comes back as `{}`. */
function jsonStore(): KeyValueStore {
  const inner = createMemoryStore()
  const copy = <T>(value: unknown) => (value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as T))
  return {
    get: async <T>(key: string) => copy<T>(await inner.get(key)),
    set: (key, value) => inner.set(key, copy(value)),
    del: (key) => inner.del(key),
    update: (key, updater) => inner.update(key, (current) => copy(updater(copy(current)))),
    keys: () => inner.keys(),
  }
}

describe("a failure that is not the provider's answer", () => {
  it('rejects with unexpected, not invalid_response, and the message says it is not the provider and to report it', async () => {
    const { auth } = openTab(provider, createWorld(jsonStore()), {}, { dpop: true })
    const callbackUrl = await provider.authorize(await auth.createSignInUrl())

    const error = await rejection(auth.handleRedirectCallback(callbackUrl))

    expect(isAuthError(error, 'unexpected'), String(error)).toBe(true)
    expect((error as Error).message).toMatch(/not the provider's fault/)
    expect((error as Error).message).toMatch(/report/)
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out' })
  })
})

// src/Profile.test.ts
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createTestProvider, type TestProvider } from 'spa-auth/testing'
import { createAuthPlugin, useAuth } from 'spa-auth/vue'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'

const Profile = defineComponent(() => {
  const { status, user, state, signIn, signOut } = useAuth()
  return () => {
    if (status.value === 'loading') return h('p', 'Loading…')
    if (status.value === 'signed-in') {
      return [h('p', `Signed in as ${user.value?.name}`), h('button', { onClick: () => void signOut() }, 'Sign out')]
    }
    return [
      state.value.reason === 'refresh-rejected' &&
        h('p', { role: 'alert' }, 'Your session has ended. Please sign in again.'),
      h('button', { onClick: () => void signIn() }, 'Sign in'),
    ]
  }
})

const alice = { sub: 'alice', name: 'Alice', email: 'alice@example.com' }
let provider: TestProvider
let wrapper: VueWrapper | undefined

beforeEach(() => {
  vi.spyOn(globalThis, 'fetch') // the provider answers in process: nothing may reach the network
  provider = createTestProvider({ accessTokenTtlSeconds: 300 })
})

afterEach(() => {
  wrapper?.unmount() // disposes the plugin's client
  provider.dispose()
  expect(globalThis.fetch).not.toHaveBeenCalled()
  vi.restoreAllMocks()
})

/** Mounts the app the way main.ts does, with the test provider's config and options, signed in as Alice. */
async function mountSignedIn() {
  const auth = createAuthPlugin(provider.config, provider.clientOptions)
  wrapper = mount(Profile, { global: { plugins: [auth] } })
  await auth.settled()
  await wrapper.get('button').trigger('click')
  await provider.completeSignIn(auth.client, alice)
  await flushPromises()
  return { auth, wrapper }
}

it('signs in and shows who is signed in', async () => {
  const { wrapper } = await mountSignedIn()

  expect(wrapper.text()).toContain('Signed in as Alice')
  expect(provider.requests.filter((request) => request.grantType === 'authorization_code')).toHaveLength(1)
})

it('refreshes once when the access token expires, and stays signed in', async () => {
  const { auth, wrapper } = await mountSignedIn()
  const expiresAt = auth.state.value.expiresAt!

  provider.expireAccessTokens()
  await provider.idle()

  expect(wrapper.text()).toContain('Signed in as Alice')
  expect(provider.requests.filter((request) => request.grantType === 'refresh_token')).toHaveLength(1)
  expect(auth.state.value.expiresAt).toBeGreaterThan(expiresAt)
})

it('signs out with a reason when the provider rejects the refresh', async () => {
  const { wrapper } = await mountSignedIn()
  provider.failNextRefresh('invalid_grant')

  provider.expireAccessTokens()
  await provider.idle()

  expect(wrapper.get('[role="alert"]').text()).toBe('Your session has ended. Please sign in again.')
  expect(wrapper.get('button').text()).toBe('Sign in')
})

it('signs out: revokes the refresh token and goes to the provider to end its session', async () => {
  const { wrapper } = await mountSignedIn()

  await wrapper.get('button').trigger('click')
  await provider.idle()

  expect(wrapper.get('button').text()).toBe('Sign in')
  expect(provider.requests.at(-1)).toMatchObject({ endpoint: 'revocation', status: 200 })
  expect(provider.navigations.at(-1)).toMatch(/^https:\/\/auth\.test\/session\/end\?/)
})

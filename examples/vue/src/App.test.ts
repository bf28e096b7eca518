import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { createAuthPlugin } from 'spa-auth/vue'
import { createTestProvider, type TestProvider } from 'spa-auth/testing'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { createMemoryHistory } from 'vue-router'
import App from './App.vue'
import { createAppRouter } from './router'

const alice = { sub: 'alice', name: 'Alice', email: 'alice@example.com' }
let provider: TestProvider
let wrapper: VueWrapper | undefined

beforeEach(() => {
  provider = createTestProvider({
    // The app's API: the provider has checked the access token it was sent, if any.
    api: (_request, access) =>
      access ? Response.json({ sub: access.sub, name: access.user.name }) : new Response(null, { status: 401 }),
  })
})

afterEach(() => {
  wrapper?.unmount()
  provider.dispose()
})

/** Mounts the app as main.ts does, with a client of the test provider and the router in memory. */
async function mountApp(path: string) {
  const auth = createAuthPlugin(provider.createClient())
  const router = createAppRouter(auth, createMemoryHistory())
  wrapper = mount(App, { global: { plugins: [auth, router] } })
  await router.push(path)
  await flushPromises()
  return { auth, router, wrapper }
}

it('signs in from the header and shows who is signed in', async () => {
  const { auth, wrapper } = await mountApp('/')

  await wrapper.get('button').trigger('click')
  await provider.completeSignIn(auth.client, alice)
  await flushPromises()

  expect(wrapper.text()).toContain('Signed in as Alice')
})

it('sends a signed-out visitor of the profile to sign in, then shows what the API answers', async () => {
  const { auth, router, wrapper } = await mountApp('/profile')
  expect(router.currentRoute.value.path).not.toBe('/profile')

  await provider.completeSignIn(auth.client, alice)
  await router.push('/profile') // in a browser, the callback's router.replace(returnTo)

  await vi.waitFor(() => expect(wrapper.text()).toContain('The API says you are Alice (alice).'))
  expect(provider.requests.filter((request) => request.endpoint === 'api')).toHaveLength(1)
})

it('signs out: the refresh token revoked, and on to the provider to end its session', async () => {
  const { auth, wrapper } = await mountApp('/')
  await wrapper.get('button').trigger('click')
  await provider.completeSignIn(auth.client, alice)
  await flushPromises()

  await wrapper.get('button').trigger('click')
  await provider.idle()
  await flushPromises()

  expect(wrapper.get('button').text()).toBe('Sign in')
  expect(provider.requests.at(-1)).toMatchObject({ endpoint: 'revocation', status: 200 })
  expect(provider.navigations.at(-1)).toMatch(/^https:\/\/auth\.test\/session\/end\?/)
})

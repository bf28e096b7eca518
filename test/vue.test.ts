// @vitest-environment happy-dom
/**
 * `spa-auth/vue` with the real Vue (createApp + mount) under happy-dom, driving a real client
 * against oidc-provider on 127.0.0.1. The component is the README's Vue example, with a render
 * function in place of the single-file component's template.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createApp, defineComponent, h, version, watch, type App } from 'vue'
import {
  createAuthClient,
  createMemoryStore,
  type AuthClientOptions,
  type AuthConfig,
  type KeyValueStore,
} from '../src/index.js'
import { createAuthGuard, createAuthPlugin, useAuth, type AuthPlugin, type GuardedRoute } from '../src/vue.js'
import { nodeFetch } from './support/node-fetch.js'
import { startTestProvider, type TestProvider } from './support/provider.js'
import { recordUnhandledRejections } from './support/unhandled-rejections.js'

/** The README's component: `const { status, user, signIn, signOut } = useAuth()` and its template. */
const Profile = defineComponent({
  setup() {
    const { status, user, callbackError, signIn, signOut } = useAuth()
    return () => [
      callbackError.value && h('p', { role: 'alert' }, callbackError.value.code),
      status.value === 'loading'
        ? h('p', 'Loading…')
        : status.value === 'signed-out'
          ? h('button', { onClick: () => void signIn() }, 'Sign in')
          : [
              h('p', `Signed in as ${user.value?.name ?? user.value?.sub}`),
              h('button', { onClick: () => void signOut() }, 'Sign out'),
            ],
    ]
  },
})

const happyDomFetch = globalThis.fetch

describe('spa-auth/vue against oidc-provider', () => {
  let provider: TestProvider
  let discovery: { userinfo_endpoint: string; end_session_endpoint: string }
  let container: HTMLElement
  let app: App | undefined
  let navigations: string[]
  /** Clients alive: each registers one wake listener when created and removes it when disposed. */
  let liveClients: number

  const config = (): AuthConfig => ({
    issuer: provider.issuer,
    clientId: provider.clientId,
    redirectUri: `${location.origin}/callback`,
    postLogoutRedirectUri: `${location.origin}/`,
    apiOrigins: [new URL(provider.issuer).origin],
  })
  const clientOptions = (store: KeyValueStore): AuthClientOptions => ({
    store,
    environment: {
      navigate: (url) => void navigations.push(url),
      openChannel: () => undefined,
      onWake: () => {
        liveClients++
        return () => void liveClients--
      },
    },
  })
  const codeGrants = () => provider.countRequests({ grantType: 'authorization_code' })
  const text = () => container.textContent ?? ''
  const button = (label: string) => [...container.querySelectorAll('button')].find((b) => b.textContent === label)
  const waitForText = (expected: string) =>
    vi.waitFor(() => expect(text()).toBe(expected), { timeout: 10_000, interval: 10 })

  function mount(auth: AuthPlugin, setup?: (app: App) => void): void {
    app = createApp(Profile)
    setup?.(app)
    app.use(auth).mount(container)
  }

  /** Starts a sign-in and follows it through the provider; returns the callback URL with code and state. */
  async function startSignIn(returnTo: string, store: KeyValueStore): Promise<string> {
    const auth = createAuthClient(config(), clientOptions(store))
    await auth.signIn({ returnTo })
    auth.dispose()
    return provider.authorize(navigations.at(-1)!)
  }

  /** A store holding a signed-in session, as a reload finds it. */
  async function signedInStore(): Promise<KeyValueStore> {
    const store = createMemoryStore()
    history.replaceState(null, '', await startSignIn('/', store))
    const auth = createAuthClient(config(), clientOptions(store))
    await auth.handleRedirectCallback()
    auth.dispose()
    history.replaceState(null, '', '/')
    return store
  }

  const route = (fullPath: string, meta: Record<string, unknown> = {}): GuardedRoute => ({ fullPath, meta })

  beforeAll(async () => {
    // The client (through its default environment) and the provider fixture both use the global fetch.
    globalThis.fetch = nodeFetch
    provider = await startTestProvider({ profile: 'strict', redirectUris: [`${location.origin}/callback`] })
    discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as typeof discovery
  })
  afterAll(async () => {
    await provider.close()
    globalThis.fetch = happyDomFetch
  })

  beforeEach(() => {
    history.replaceState(null, '', '/')
    container = document.createElement('div')
    document.body.append(container)
    navigations = []
    liveClients = 0
    provider.resetRequests()
  })
  afterEach(() => {
    app?.unmount()
    app = undefined
    container.remove()
  })

  it('renders the signed-out state, and the button starts a sign-in at the provider', async () => {
    const auth = createAuthPlugin(config(), clientOptions(createMemoryStore()))
    mount(auth)
    await waitForText('Sign in')

    button('Sign in')!.click()
    await vi.waitFor(() => expect(navigations).toHaveLength(1))
    expect(new URL(navigations[0]!).searchParams.get('redirect_uri')).toBe(`${location.origin}/callback`)
  })

  it('on the redirect URI: exchanges the code once, renders the user, goes back to returnTo', async () => {
    const store = createMemoryStore()
    history.replaceState(null, '', await startSignIn('/orders?page=2', store))
    provider.resetRequests()

    const auth = createAuthPlugin(createAuthClient(config(), clientOptions(store)))
    const statuses: string[] = []
    watch(auth.status, (status) => statuses.push(status), { immediate: true })
    mount(auth)
    await waitForText('Signed in as Alice ExampleSign out')

    expect(codeGrants()).toBe(1)
    expect(location.pathname + location.search).toBe('/orders?page=2')
    expect(statuses).toEqual(['loading', 'signed-in'])
    auth.client.dispose()
  })

  it('with vue-router installed, goes back to returnTo through router.replace', async () => {
    const store = createMemoryStore()
    history.replaceState(null, '', await startSignIn('/orders', store))
    const replaced: string[] = []

    const auth = createAuthPlugin(config(), clientOptions(store))
    mount(
      auth,
      (app) => (app.config.globalProperties['$router'] = { replace: async (to: string) => void replaced.push(to) }),
    )
    await waitForText('Signed in as Alice ExampleSign out')

    expect(replaced).toEqual(['/orders'])
    expect(location.pathname).toBe('/callback') // the router, not the plugin, owns the address bar
  })

  it('with config: creates one client and disposes it when the app unmounts', async () => {
    const store = await signedInStore()
    liveClients = 0
    provider.resetRequests()

    mount(createAuthPlugin(config(), clientOptions(store)))
    await waitForText('Signed in as Alice ExampleSign out')
    expect(liveClients).toBe(1)
    expect(provider.requests).toEqual([]) // a reload: the session and discovery come from the store

    app!.unmount()
    app = undefined
    expect(liveClients).toBe(0)
  })

  it('calls an API with the bound fetch, then signs out and renders signed out', async () => {
    const auth = createAuthPlugin(config(), clientOptions(await signedInStore()))
    mount(auth)
    await waitForText('Signed in as Alice ExampleSign out')

    const userinfo = await auth.fetch(discovery.userinfo_endpoint)
    expect(userinfo.status).toBe(200)
    expect(await userinfo.json()).toMatchObject({ sub: 'alice', name: 'Alice Example' })

    button('Sign out')!.click()
    await waitForText('Sign in')
    // Signed out at once; the redirect to the provider follows the revocation.
    await vi.waitFor(() => expect(navigations.at(-1)?.startsWith(`${discovery.end_session_endpoint}?`)).toBe(true))
  })

  it('reports a replayed callback as callbackError and keeps the session', async () => {
    const store = createMemoryStore()
    const callbackUrl = await startSignIn('/', store)
    history.replaceState(null, '', callbackUrl)
    const first = createAuthClient(config(), clientOptions(store))
    await first.handleRedirectCallback()
    first.dispose()
    history.replaceState(null, '', callbackUrl)
    provider.resetRequests()

    mount(createAuthPlugin(config(), clientOptions(store)))
    await waitForText('callback_replayedSigned in as Alice ExampleSign out')
    expect(codeGrants()).toBe(0)
  })

  it.each([
    [
      'throws',
      (): void => {
        throw new Error('the router is not ready')
      },
    ],
    ['returns a rejected promise', (): Promise<void> => Promise.reject(new Error('the router is not ready'))],
  ])(
    'an onRedirectCallback that %s becomes callbackError (redirect_callback_failed), and the app leaves loading',
    async (_, onRedirectCallback) => {
      const unhandled = recordUnhandledRejections()
      const store = createMemoryStore()
      history.replaceState(null, '', await startSignIn('/orders', store))
      const auth = createAuthPlugin(config(), { ...clientOptions(store), onRedirectCallback })
      mount(auth)
      await waitForText('redirect_callback_failedSigned in as Alice ExampleSign out')

      expect(auth.callbackError.value).toMatchObject({ name: 'AuthError', code: 'redirect_callback_failed' })
      expect(auth.callbackError.value?.message).toContain('onRedirectCallback')
      expect((auth.callbackError.value?.cause as Error).message).toBe('the router is not ready')
      expect(auth.status.value).toBe('signed-in')
      expect(await unhandled.after(20)).toEqual([])
    },
  )

  it('a router.replace that rejects becomes callbackError instead of an unhandled rejection', async () => {
    const unhandled = recordUnhandledRejections()
    const store = createMemoryStore()
    history.replaceState(null, '', await startSignIn('/orders', store))
    const auth = createAuthPlugin(config(), clientOptions(store))
    mount(auth, (app) => {
      app.config.globalProperties['$router'] = {
        replace: () => Promise.reject(new Error('navigation aborted')),
      }
    })
    await waitForText('redirect_callback_failedSigned in as Alice ExampleSign out')

    expect((auth.callbackError.value?.cause as Error).message).toBe('navigation aborted')
    expect(await unhandled.after(20)).toEqual([])
  })

  describe('createAuthGuard', () => {
    it('lets anyone through a route without requiresAuth, without waiting for the session', async () => {
      const auth = createAuthPlugin(config(), clientOptions(createMemoryStore()))
      expect(await createAuthGuard(auth)(route('/about'))).toBe(true)
      expect(navigations).toEqual([])
      auth.client.dispose()
    })

    it('sends a signed-out user to the provider, and the callback brings them back to the route', async () => {
      const store = createMemoryStore()
      const first = createAuthPlugin(config(), clientOptions(store))
      expect(await createAuthGuard(first)(route('/orders?page=2', { requiresAuth: true }))).toBe(false)
      expect(navigations).toHaveLength(1)
      first.client.dispose()

      history.replaceState(null, '', await provider.authorize(navigations[0]!))
      const auth = createAuthPlugin(config(), clientOptions(store))
      const guard = createAuthGuard(auth)
      // The router's first navigation runs the guard while the plugin is still handling the callback.
      mount(auth)
      expect(await guard(route('/callback'))).toBe(true)
      expect(await guard(route('/orders', { requiresAuth: true }))).toBe(true)
      expect(location.pathname + location.search).toBe('/orders?page=2')
      expect(navigations).toHaveLength(1)
    })

    it('honours requiresAuth and returnTo options', async () => {
      const auth = createAuthPlugin(config(), clientOptions(createMemoryStore()))
      const guard = createAuthGuard(auth, {
        requiresAuth: (to) => to.fullPath.startsWith('/admin'),
        returnTo: (to) => `/app${to.fullPath}`,
      })
      expect(await guard(route('/home', { requiresAuth: true }))).toBe(true)
      expect(await guard(route('/admin'))).toBe(false)
      history.replaceState(null, '', await provider.authorize(navigations[0]!))
      expect(await auth.client.handleRedirectCallback()).toMatchObject({ returnTo: '/app/admin' })
      auth.client.dispose()
    })
  })

  it('declares Vue >=3.5 as its peer, the first version with app.onUnmount, which disposal needs', () => {
    const manifest = JSON.parse(
      readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../package.json'), 'utf8'),
    ) as {
      peerDependencies: Record<string, string>
    }

    expect(manifest.peerDependencies['vue']).toBe('>=3.5')
    expect(version.split('.').slice(0, 2).map(Number)).toSatisfy(
      ([major, minor]: number[]) => major! > 3 || minor! >= 5,
    )
    expect(typeof createApp(Profile).onUnmount).toBe('function')
  })

  it('useAuth() without the plugin says what is missing', () => {
    const errors: unknown[] = []
    app = createApp(Profile)
    app.config.errorHandler = (error) => void errors.push(error)
    app.config.warnHandler = () => {} // the component that threw has no render function: expected here
    app.mount(container)
    expect(String(errors[0])).toContain('useAuth() needs the plugin: app.use(createAuthPlugin(...))')
  })
})

// @vitest-environment happy-dom
/**
 * `spa-auth/react` with the real React (react-dom/client + act) under happy-dom, driving a real
 * client against oidc-provider on 127.0.0.1. The app is the README's React example, written with
 * createElement instead of JSX.
 */
import { createElement as h, Fragment, StrictMode, useLayoutEffect, type ReactNode } from 'react'
import { act } from 'react'
import { createRoot, type Root } from 'react-dom/client'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  createAuthClient,
  createMemoryStore,
  type AuthClientOptions,
  type AuthConfig,
  type KeyValueStore,
} from '../src/index.js'
import { AuthProvider, useAuth, type UseAuthResult } from '../src/react.js'
import { nodeFetch } from './support/node-fetch.js'
import { startTestProvider, type TestProvider } from './support/provider.js'
import { recordUnhandledRejections } from './support/unhandled-rejections.js'

declare global {
  // React's switch for "this is a test: updates are wrapped in act()".
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined
}

/** The README's `Profile`, plus a way for the tests to read the hook's value. */
function App({ seen }: { seen?: (auth: UseAuthResult) => void }): ReactNode {
  const auth = useAuth()
  seen?.(auth)
  const { status, user, callbackError, signIn, signOut } = auth
  if (status === 'loading') return h('p', null, 'Loading…')
  return h(
    Fragment,
    null,
    callbackError && h('p', { role: 'alert' }, callbackError.code),
    status === 'signed-in'
      ? h(
          Fragment,
          null,
          h('p', null, 'Signed in as ', String(user.name ?? user.sub)),
          h('button', { onClick: () => signOut() }, 'Sign out'),
        )
      : h('button', { onClick: () => signIn() }, 'Sign in'),
  )
}

const happyDomFetch = globalThis.fetch

describe('spa-auth/react against oidc-provider', () => {
  let provider: TestProvider
  let discovery: { userinfo_endpoint: string; end_session_endpoint: string }
  let container: HTMLElement
  let root: Root | undefined
  let navigations: string[]
  /** Clients created, and alive: each registers one wake listener when created and removes it when disposed. */
  let createdClients: number
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
        createdClients++
        liveClients++
        return () => void liveClients--
      },
    },
  })
  const codeGrants = () => provider.countRequests({ grantType: 'authorization_code' })
  const text = () => container.textContent ?? ''
  const button = (label: string) => [...container.querySelectorAll('button')].find((b) => b.textContent === label)

  async function mount(element: ReactNode): Promise<void> {
    root = createRoot(container)
    await act(async () => root!.render(h(StrictMode, null, element)))
  }

  async function unmount(): Promise<void> {
    await act(async () => root?.unmount())
    root = undefined
  }

  /** Lets the client and React work inside act() until `done()` holds; React has rendered when it returns. */
  async function actUntil(done: () => boolean, what: string): Promise<void> {
    await act(async () => {
      const deadline = Date.now() + 10_000
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; page shows: ${text()}`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    })
  }

  /** Starts a sign-in and follows it through the provider; returns the callback URL with code and state. */
  async function startSignIn(returnTo: string, store: KeyValueStore): Promise<string> {
    const auth = createAuthClient(config(), clientOptions(store))
    await auth.signIn({ returnTo })
    auth.dispose()
    return provider.authorize(navigations.at(-1)!)
  }

  beforeAll(async () => {
    globalThis.IS_REACT_ACT_ENVIRONMENT = true
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
    createdClients = 0
    liveClients = 0
    provider.resetRequests()
  })
  afterEach(async () => {
    await unmount()
    container.remove()
  })

  it('renders the signed-out state, and the button starts a sign-in at the provider', async () => {
    const auth = createAuthClient(config(), clientOptions(createMemoryStore()))
    await mount(h(AuthProvider, { client: auth }, h(App)))
    await actUntil(() => auth.getSnapshot().status === 'signed-out', 'the stored session to load')

    expect(text()).toBe('Sign in')
    await act(async () => button('Sign in')!.click())
    await actUntil(() => navigations.length === 1, 'the redirect to the provider')
    const authorize = new URL(navigations[0]!)
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${location.origin}/callback`)
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256')
    auth.dispose()
  })

  it('on the redirect URI under StrictMode: exchanges the code once, renders the user, goes back to returnTo', async () => {
    const store = createMemoryStore()
    const callbackUrl = await startSignIn('/orders?page=2', store)
    history.replaceState(null, '', callbackUrl)
    provider.resetRequests()

    const auth = createAuthClient(config(), clientOptions(store))
    const statuses: string[] = []
    await mount(h(AuthProvider, { client: auth }, h(App, { seen: ({ status }) => statuses.push(status) })))
    await actUntil(() => location.pathname === '/orders', 'the callback to complete')

    expect(text()).toBe('Signed in as Alice ExampleSign out')
    expect(codeGrants()).toBe(1)
    expect(location.pathname + location.search).toBe('/orders?page=2')
    // While the code was being exchanged the app saw "loading", never "signed-out".
    expect(statuses).not.toContain('signed-out')
    auth.dispose()
  })

  it('with config: StrictMode creates one client, exchanges the code once, and disposes the client on unmount', async () => {
    const store = createMemoryStore()
    history.replaceState(null, '', await startSignIn('/', store))
    provider.resetRequests()
    createdClients = liveClients = 0

    let client: UseAuthResult['client'] = null
    await mount(
      h(
        AuthProvider,
        { config: config(), options: clientOptions(store) },
        h(App, { seen: (auth) => (client = auth.client) }),
      ),
    )
    await actUntil(
      () => client?.getSnapshot().status === 'signed-in' && location.search === '',
      'the callback to complete',
    )

    expect(text()).toBe('Signed in as Alice ExampleSign out')
    expect(codeGrants()).toBe(1)
    // StrictMode's simulated unmount/remount reuses the client instead of making a second one.
    expect(createdClients).toBe(1)
    expect(liveClients).toBe(1)

    await unmount()
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(liveClients).toBe(0)
  })

  it('with config: an action called before the client exists waits for it', async () => {
    const clientAtCall: Array<UseAuthResult['client']> = []
    function SignInAtOnce(): ReactNode {
      const { client, signIn } = useAuth()
      // Layout effects run before the provider's effect has created the client.
      useLayoutEffect(() => {
        clientAtCall.push(client)
        void signIn()
      }, [])
      return null
    }
    await mount(h(AuthProvider, { config: config(), options: clientOptions(createMemoryStore()) }, h(SignInAtOnce)))
    await actUntil(() => navigations.length === clientAtCall.length, 'the redirects to the provider')
    expect(clientAtCall[0]).toBeNull()
    for (const url of navigations) expect(url.startsWith(`${provider.issuer}/auth?`)).toBe(true)
  })

  it('stays signed in on the next page load, without a request to the provider', async () => {
    const store = createMemoryStore()
    history.replaceState(null, '', await startSignIn('/', store))
    const first = createAuthClient(config(), clientOptions(store))
    await first.handleRedirectCallback()
    first.dispose()
    history.replaceState(null, '', '/')
    provider.resetRequests()

    const auth = createAuthClient(config(), clientOptions(store))
    await mount(h(AuthProvider, { client: auth }, h(App)))
    await actUntil(() => auth.getSnapshot().status === 'signed-in', 'the stored session to load')

    expect(text()).toBe('Signed in as Alice ExampleSign out')
    expect(provider.requests).toEqual([])
    auth.dispose()
  })

  it('calls an API with the bound fetch, then signs out and renders signed out', async () => {
    const store = createMemoryStore()
    history.replaceState(null, '', await startSignIn('/', store))
    const auth = createAuthClient(config(), clientOptions(store))
    let hook: UseAuthResult | undefined
    await mount(h(AuthProvider, { client: auth }, h(App, { seen: (value) => (hook = value) })))
    await actUntil(() => auth.getSnapshot().status === 'signed-in', 'the callback to complete')

    const userinfo = await hook!.fetch(discovery.userinfo_endpoint)
    expect(userinfo.status).toBe(200)
    expect(await userinfo.json()).toMatchObject({ sub: 'alice', name: 'Alice Example' })

    await act(async () => button('Sign out')!.click())
    // Signed out at once; the redirect to the provider follows the revocation.
    await actUntil(() => auth.getSnapshot().status === 'signed-out', 'the sign-out')
    expect(text()).toBe('Sign in')
    await actUntil(() => navigations.length > 0, 'the end-session redirect')
    expect(navigations.at(-1)?.startsWith(`${discovery.end_session_endpoint}?`)).toBe(true)
    auth.dispose()
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

    const auth = createAuthClient(config(), clientOptions(store))
    let hook: UseAuthResult | undefined
    await mount(h(AuthProvider, { client: auth }, h(App, { seen: (value) => (hook = value) })))
    await actUntil(() => hook?.callbackError != null, 'the callback to fail')

    expect(hook?.callbackError?.code).toBe('callback_replayed')
    expect(text()).toBe('callback_replayedSigned in as Alice ExampleSign out')
    expect(codeGrants()).toBe(0)
    auth.dispose()
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
      const auth = createAuthClient(config(), clientOptions(store))
      let hook: UseAuthResult | undefined
      await mount(h(AuthProvider, { client: auth, onRedirectCallback }, h(App, { seen: (value) => (hook = value) })))
      await actUntil(() => auth.getSnapshot().status === 'signed-in', 'the code exchange')
      await actUntil(() => hook?.callbackError != null, 'the failing onRedirectCallback to be reported')

      expect(hook?.callbackError).toMatchObject({ name: 'AuthError', code: 'redirect_callback_failed' })
      expect(hook?.callbackError?.message).toContain('onRedirectCallback')
      expect((hook?.callbackError?.cause as Error).message).toBe('the router is not ready')
      expect(hook?.status).toBe('signed-in')
      expect(text()).toBe('redirect_callback_failedSigned in as Alice ExampleSign out')
      expect(await unhandled.after(20)).toEqual([])
      auth.dispose()
    },
  )

  it('useAuth() outside <AuthProvider> says what is missing', async () => {
    root = createRoot(container)
    await expect(act(async () => root!.render(h(App)))).rejects.toThrow(
      'useAuth() must be called inside <AuthProvider>',
    )
  })
})

// @vitest-environment happy-dom
/**
 * The redirect controller the React and Vue bindings are made of, driven as a binding drives it,
 * with a real client against oidc-provider on 127.0.0.1.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  bindAuthActions,
  createAuthClient,
  createMemoryStore,
  createRedirectController,
  type AuthClient,
  type AuthClientOptions,
  type AuthConfig,
  type KeyValueStore,
  type RedirectController,
} from '../../src/index.js'
import { nodeFetch } from '../support/node-fetch.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { recordUnhandledRejections } from '../support/unhandled-rejections.js'

const happyDomFetch = globalThis.fetch

describe('createRedirectController', () => {
  let provider: TestProvider
  let navigations: string[]
  const clients: AuthClient[] = []

  const config = (): AuthConfig => ({
    issuer: provider.issuer,
    clientId: provider.clientId,
    redirectUri: `${location.origin}/callback`,
    postLogoutRedirectUri: `${location.origin}/`,
  })
  const clientOptions = (store: KeyValueStore): AuthClientOptions => ({
    store,
    environment: { navigate: (url) => void navigations.push(url), openChannel: () => undefined },
  })
  const client = (store: KeyValueStore) => {
    const created = createAuthClient(config(), clientOptions(store))
    clients.push(created)
    return created
  }
  const codeGrants = () => provider.countRequests({ grantType: 'authorization_code' })

  /** Starts a sign-in, follows it through the provider, and puts the callback URL in the address bar. */
  async function arriveAtCallback(returnTo: string, store: KeyValueStore): Promise<string> {
    await client(store).signIn({ returnTo })
    const callbackUrl = await provider.authorize(navigations.at(-1)!)
    history.replaceState(null, '', callbackUrl)
    provider.resetRequests()
    return callbackUrl
  }

  /** Every status the controller showed, from now on. */
  function statuses(controller: RedirectController): string[] {
    const seen = [controller.getSnapshot().state.status]
    controller.subscribe(() => {
      const status = controller.getSnapshot().state.status
      if (status !== seen.at(-1)) seen.push(status)
    })
    return seen
  }

  beforeAll(async () => {
    globalThis.fetch = nodeFetch
    provider = await startTestProvider({ profile: 'strict', redirectUris: [`${location.origin}/callback`] })
  })
  afterAll(async () => {
    for (const created of clients) created.dispose()
    await provider.close()
    globalThis.fetch = happyDomFetch
  })
  beforeEach(() => {
    history.replaceState(null, '', '/')
    navigations = []
    provider.resetRequests()
  })

  it("shows loading until start() has read the address bar, then the client's own snapshot", async () => {
    const controller = createRedirectController(client(createMemoryStore()))
    expect(controller.getSnapshot()).toMatchObject({ state: { status: 'loading' }, callbackError: null })

    await controller.start()

    expect(controller.getSnapshot()).toMatchObject({ state: { status: 'signed-out' }, callbackError: null })
    expect(provider.requests).toEqual([])
  })

  it('on the redirect URI: shows loading, never signed-out, until signed in, then goes back to returnTo', async () => {
    const store = createMemoryStore()
    await arriveAtCallback('/orders?page=2', store)
    const controller = createRedirectController(client(store))
    const seen = statuses(controller)

    await controller.start()

    expect(seen).toEqual(['loading', 'signed-in'])
    expect(controller.getSnapshot().state.user).toMatchObject({ sub: 'alice' })
    expect(location.pathname + location.search).toBe('/orders?page=2')
    expect(codeGrants()).toBe(1)
  })

  it("exchanges the code once per client and navigates once, however many controllers and effects start (StrictMode's double effects)", async () => {
    const store = createMemoryStore()
    await arriveAtCallback('/orders', store)
    const auth = client(store)
    const called: string[] = []
    const onRedirectCallback = ({ returnTo }: { returnTo: string }) => void called.push(returnTo)
    const first = createRedirectController(auth, { onRedirectCallback })
    const second = createRedirectController(auth, { onRedirectCallback })

    const started = first.start()
    first.stop()
    await Promise.all([started, first.start(), second.start(), second.start()])

    expect(codeGrants()).toBe(1)
    expect(called).toEqual(['/orders'])
    expect(second.getSnapshot().state.status).toBe('signed-in')
  })

  it('reports a failed callback as callbackError, leaves loading, and keeps the session', async () => {
    const store = createMemoryStore()
    const callbackUrl = await arriveAtCallback('/', store)
    await client(store).handleRedirectCallback()
    history.replaceState(null, '', callbackUrl)
    provider.resetRequests()
    const controller = createRedirectController(client(store))

    await controller.start()

    expect(controller.getSnapshot().callbackError).toMatchObject({ name: 'AuthError', code: 'callback_replayed' })
    expect(controller.getSnapshot().state.status).toBe('signed-in')
    expect(codeGrants()).toBe(0)
  })

  it.each([
    [
      'throws',
      (): void => {
        throw new Error('the router is not ready')
      },
    ],
    ['rejects', (): Promise<void> => Promise.reject(new Error('the router is not ready'))],
  ])(
    'an onRedirectCallback that %s becomes redirect_callback_failed, and the user is signed in',
    async (_, callback) => {
      const unhandled = recordUnhandledRejections()
      const store = createMemoryStore()
      await arriveAtCallback('/orders', store)
      const controller = createRedirectController(client(store), { onRedirectCallback: callback })

      await controller.start()
      await unhandled.after(20)

      const { state, callbackError } = controller.getSnapshot()
      expect(callbackError).toMatchObject({ name: 'AuthError', code: 'redirect_callback_failed' })
      expect(callbackError?.message).toContain('onRedirectCallback')
      expect((callbackError?.cause as Error).message).toBe('the router is not ready')
      expect(state.status).toBe('signed-in')
      expect(await unhandled.after(0)).toEqual([])
    },
  )

  it('reads onRedirectCallback when the callback completes, so a binding may set it after creating the controller', async () => {
    const store = createMemoryStore()
    await arriveAtCallback('/orders', store)
    const options: { onRedirectCallback?: (result: { returnTo: string }) => void } = {}
    const controller = createRedirectController(client(store), options)
    const called: string[] = []

    const started = controller.start()
    options.onRedirectCallback = ({ returnTo }) => void called.push(returnTo)
    await started

    expect(called).toEqual(['/orders'])
    expect(location.pathname).toBe('/callback') // the app's callback, not the default, owns the address bar
  })

  it('calls no onRedirectCallback for a callback that completes after stop() (the binding unmounted)', async () => {
    const store = createMemoryStore()
    await arriveAtCallback('/orders', store)
    const called: string[] = []
    const controller = createRedirectController(client(store), {
      onRedirectCallback: ({ returnTo }) => void called.push(returnTo),
    })
    const held = provider.holdNext({ grantType: 'authorization_code' })

    const started = controller.start()
    await held.reached
    controller.stop()
    held.release()
    await started

    expect(controller.getSnapshot().state.status).toBe('signed-in')
    expect(called).toEqual([])
  })

  it('returns the same snapshot object until something in it changes', async () => {
    const controller = createRedirectController(client(createMemoryStore()))
    const before = controller.getSnapshot()
    expect(controller.getSnapshot()).toBe(before)

    await controller.start()

    const after = controller.getSnapshot()
    expect(after).not.toBe(before)
    expect(controller.getSnapshot()).toBe(after)
  })
})

describe('bindAuthActions', () => {
  it('binds every action of the client, and with a promise of the client each call waits for it', async () => {
    const navigations: string[] = []
    const auth = createAuthClient(
      { issuer: 'https://id.example.com', clientId: 'app', redirectUri: 'https://app.example.com/callback' },
      { store: createMemoryStore(), environment: { navigate: (url) => void navigations.push(url) } },
    )
    let resolve!: (client: AuthClient) => void
    const actions = bindAuthActions(new Promise<AuthClient>((done) => (resolve = done)))
    const { getAccessToken } = actions

    const token = getAccessToken()
    resolve(auth)

    await expect(token).rejects.toMatchObject({ code: 'not_signed_in' })
    expect(Object.keys(actions).sort()).toEqual([
      'fetch',
      'getAccessToken',
      'getUserInfo',
      'refresh',
      'signIn',
      'signInWithPopup',
      'signOut',
    ])
    auth.dispose()
  })
})

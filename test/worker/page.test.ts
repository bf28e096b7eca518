// @vitest-environment node
/**
 * Refreshes in the refresh worker, where real Chromium cannot show them on cue: the
 * worker that does the refresh for every page, the worker whose script does not load, the worker
 * that does not answer in time, a provider that refuses the refresh token, a page that reloads
 * while the worker's refresh waits at the provider. The worker is the library's own refresh host
 * on the same IndexedDB (fake-indexeddb, a fresh database per test), Web Locks, channels and clock
 * as the pages; the provider rotates refresh tokens and detects reuse. Everything else goes through
 * the public API.
 */
import 'fake-indexeddb/auto'
import { createStore, get } from 'idb-keyval'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { reactive } from 'vue'
import { isAuthError, type AuthConfig, type AuthEnvironment } from '../../src/index.js'
import { expectNoSecretInErrors } from '../support/error-collector.js'
import { eventually, flushEventLoop } from '../support/fake-clock.js'
import {
  freshProfileForEachTest,
  startBrowserWithRefreshWorker,
  type FakeRefreshWorker,
} from '../support/fake-refresh-worker.js'
import { hostHooks } from '../support/host-hooks.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import {
  APP,
  openAppPage,
  rejection,
  sessionKey,
  signIn,
  signedIn,
  type Exchange,
  type Network,
  type StoredSession,
  type Tab,
  type World,
} from '../support/world.js'

/** The default `requestTimeoutMs` (10 s) four times: how long a page waits for the worker's answer. */
const ANSWER_TIMEOUT_MS = 40_000

let strict: TestProvider

beforeAll(async () => {
  strict = await startTestProvider({ profile: 'strict', accessTokenTtlSeconds: 120, redirectUris: [`${APP}/callback`] })
})
afterAll(() => strict?.close())
afterAll(() => expectNoSecretInErrors({ errors: 3, secrets: 20 }))

freshProfileForEachTest(() => strict)

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** A page of the app (see `openAppPage`) with `worker` as its refresh worker. */
function openPage(
  world: World,
  worker: FakeRefreshWorker,
  options: {
    environment?: Partial<AuthEnvironment>
    config?: Partial<AuthConfig>
    provider?: TestProvider
    /** The configuration object itself, as the app hands it over (a Vue proxy, say). */
    configObject?: (config: AuthConfig) => AuthConfig
  } = {},
): Tab {
  const provider = options.provider ?? strict
  const config: AuthConfig = {
    issuer: provider.issuer,
    clientId: provider.clientId,
    redirectUri: `${APP}/callback`,
    postLogoutRedirectUri: `${APP}/`,
    ...options.config,
  }
  return openAppPage(world, options.configObject ? options.configObject(config) : config, {
    ...hostHooks({ refreshWorkerAvailable: () => true, openRefreshWorker: () => worker.connect() }),
    ...options.environment,
  })
}

/** A page that signed in (refreshes in the worker). */
async function signedInPage(world: World, worker: FakeRefreshWorker): Promise<Tab> {
  const page = openPage(world, worker)
  await page.auth.ready()
  await signIn(strict, page.auth)
  return page
}

/** Another page of the same browser, loaded from the store. */
async function loadedPage(
  world: World,
  worker: FakeRefreshWorker,
  options: { environment?: Partial<AuthEnvironment> } = {},
): Promise<Tab> {
  const page = openPage(world, worker, options)
  await page.auth.ready()
  expect(page.auth.getSnapshot().status).toBe('signed-in')
  return page
}

const refreshGrants = (network: Network) => network.tokenRequests('refresh_token')
const issuedToken = (exchange: Exchange | undefined) => exchange?.issued?.accessToken

/** Every request of these networks was answered with 200: no invalid_grant, no reuse, no error. */
function expectAllAnswered(...networks: Network[]): void {
  for (const network of networks) {
    expect(network.exchanges.map(({ url, status }) => ({ url, status }))).toEqual(
      network.exchanges.map(({ url }) => ({ url, status: 200 })),
    )
  }
}

/** The refresh token the browser's store holds now. */
async function storedRefreshToken(): Promise<string> {
  const stored = await get<StoredSession>(sessionKey(strict), createStore('spa-auth', 'kv'))
  return stored!.tokens.refreshToken!
}

/** Revokes `refreshToken` at the provider (RFC 7009), as an administrator ending the user's session would. */
async function revoke(refreshToken: string): Promise<void> {
  const revoked = await fetch(strict.revocationEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refreshToken, client_id: strict.clientId }),
  })
  expect(revoked.status).toBe(200)
}

/**
 * Channels whose messages reach the page only when the test delivers them: a BroadcastChannel
 * message and the worker's answer come by different routes, in no promised order.
 */
function lateChannels(world: World) {
  const waiting: Array<() => void> = []
  const openChannel: AuthEnvironment['openChannel'] = (name) => {
    const channel = world.browser.openChannel(name)
    return {
      postMessage: (message) => channel.postMessage(message),
      onMessage: (listener) => channel.onMessage((message) => void waiting.push(() => listener(message))),
      close: () => channel.close(),
    }
  }
  return { openChannel, deliver: () => waiting.splice(0).forEach((deliver) => deliver()) }
}

// ---------------------------------------------------------------------------------------------

describe('refreshes in the refresh worker', () => {
  it('auth.refresh() is made by the worker: one grant on its network, none on the page, and the page takes its token', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const page = await signedInPage(world, worker)
    expect(page.auth.refreshIn).toBe('worker')
    const signedInUntil = signedIn(page.auth).expiresAt
    await world.clock.advance(10_000)

    await page.auth.refresh()

    expect(refreshGrants(page.network)).toEqual([])
    expect(refreshGrants(worker.network)).toEqual([expect.objectContaining({ status: 200 })])
    expect(strict.countRequests({ grantType: 'refresh_token' })).toBe(1)
    expect(worker.requests).toEqual([
      expect.objectContaining({ v: 2, request: expect.objectContaining({ force: true }) }),
    ])
    expect(signedIn(page.auth).expiresAt).toBe(signedInUntil + 10_000)
    expect(await page.auth.getAccessToken()).toBe(issuedToken(refreshGrants(worker.network)[0]))
    expect(page.auth.getSnapshot().error).toBeNull()
  })

  it('the background refresh before expiry is made by the worker too', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const page = await signedInPage(world, worker)
    const signedInUntil = signedIn(page.auth).expiresAt
    const dueAt = page.auth.nextRefreshAt()!
    expect(dueAt).toBeLessThan(signedInUntil)

    await world.clock.advance(dueAt - world.clock.now())
    await worker.idle()
    await eventually(() => signedIn(page.auth).expiresAt > signedInUntil, 'the page takes the refreshed session')

    expect(refreshGrants(page.network)).toEqual([])
    expect(refreshGrants(worker.network)).toEqual([expect.objectContaining({ status: 200 })])
    expect(strict.countRequests({ grantType: 'refresh_token' })).toBe(1)
    expect(signedIn(page.auth).expiresAt).toBe(dueAt + 120_000)
    expect(await page.auth.getAccessToken()).toBe(issuedToken(refreshGrants(worker.network)[0]))
    expect(page.auth.nextRefreshAt()).toBeGreaterThan(dueAt)
  })

  it('three pages that wake after expiry make one refresh grant, and all three end with its token', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const first = await signedInPage(world, worker)
    const all = [first, await loadedPage(world, worker), await loadedPage(world, worker)]
    const signedInUntil = signedIn(first.auth).expiresAt

    // The laptop slept through the planned refreshes: on waking, every page finds its refresh overdue.
    world.clock.jump(signedInUntil - world.clock.now())
    world.browser.wake()
    await eventually(() => worker.requests.length === 3, 'every page asks the worker')
    await worker.idle()
    for (const page of all)
      await eventually(() => signedIn(page.auth).expiresAt > signedInUntil, 'every page takes the refreshed session')

    expect(refreshGrants(worker.network)).toEqual([expect.objectContaining({ status: 200 })])
    expect(strict.countRequests({ grantType: 'refresh_token' })).toBe(1)
    for (const page of all) expect(refreshGrants(page.network)).toEqual([])
    const issued = issuedToken(refreshGrants(worker.network)[0])
    expect(await Promise.all(all.map((page) => page.auth.getAccessToken()))).toEqual([issued, issued, issued])
  })

  it('pages whose timers fall due together make one refresh grant, and all three end with its token', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const first = await signedInPage(world, worker)
    const all = [first, await loadedPage(world, worker), await loadedPage(world, worker)]
    const signedInUntil = signedIn(first.auth).expiresAt
    expect(new Set(all.map((page) => page.auth.nextRefreshAt())).size).toBe(1)

    await world.clock.advance(first.auth.nextRefreshAt()! - world.clock.now())
    await worker.idle()
    for (const page of all)
      await eventually(() => signedIn(page.auth).expiresAt > signedInUntil, 'every page takes the refreshed session')

    expect(refreshGrants(worker.network)).toEqual([expect.objectContaining({ status: 200 })])
    expect(strict.countRequests({ grantType: 'refresh_token' })).toBe(1)
    const issued = issuedToken(refreshGrants(worker.network)[0])
    expect(await Promise.all(all.map((page) => page.auth.getAccessToken()))).toEqual([issued, issued, issued])
  })
})

describe('when the worker cannot do it, the page refreshes itself', () => {
  it('a worker whose script fails to load: the pending refresh is made by the page, and later ones never ask the worker', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    // The script is still loading: the worker takes messages but does not run yet.
    worker.pause()
    const page = await signedInPage(world, worker)
    expect(page.auth.refreshIn).toBe('worker')

    const refreshing = page.auth.refresh()
    await eventually(() => worker.requests.length === 1, 'the page asks the worker')
    worker.failToLoad()
    await refreshing

    expect(page.auth.refreshIn).toBe('page')
    expect(refreshGrants(page.network)).toEqual([expect.objectContaining({ status: 200 })])
    expect(refreshGrants(worker.network)).toEqual([])
    expect(strict.countRequests({ grantType: 'refresh_token' })).toBe(1)
    expect(await page.auth.getAccessToken()).toBe(issuedToken(refreshGrants(page.network)[0]))

    await page.auth.refresh()
    expect(worker.requests).toHaveLength(1)
    expect(refreshGrants(page.network)).toHaveLength(2)
    expectAllAnswered(page.network)
  })

  it('a worker that does not answer in time: the page refreshes after the answer timeout and from then on, and the late worker adopts its result', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const page = await signedInPage(world, worker)
    worker.pause()

    const refreshing = page.auth.refresh()
    await eventually(() => worker.requests.length === 1, 'the page asks the worker')
    await world.clock.advance(ANSWER_TIMEOUT_MS - 1)
    expect(refreshGrants(page.network)).toEqual([])
    await world.clock.advance(1)
    await refreshing

    expect(refreshGrants(page.network)).toEqual([expect.objectContaining({ status: 200 })])
    const pageToken = issuedToken(refreshGrants(page.network)[0])
    expect(await page.auth.getAccessToken()).toBe(pageToken)

    // The worker wakes up and does what it was asked: inside the lock it finds the page's refresh.
    worker.resume()
    await worker.idle()

    expect(refreshGrants(worker.network)).toEqual([])
    expect(strict.countRequests({ grantType: 'refresh_token' })).toBe(1)
    expect(await page.auth.getAccessToken()).toBe(pageToken)
    expect(page.auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: null })
    expectAllAnswered(page.network, worker.network)

    // A worker that missed one answer is not waited for again: the page refreshes at once (the
    // next refresh would otherwise wait the whole timeout, past a short token's expiry), and the
    // session is intact at the provider.
    await world.clock.advance(10_000)
    const requestsBefore = worker.requests.length
    await page.auth.refresh()
    expect(worker.requests).toHaveLength(requestsBefore)
    expect(page.auth.refreshIn).toBe('page')
    expect(refreshGrants(page.network)).toHaveLength(2)
    expect(refreshGrants(page.network).at(-1)).toMatchObject({ status: 200 })
    expectAllAnswered(page.network, worker.network)
  })
})

describe('a refresh token the provider refuses', () => {
  it('ends the session in every page with reason refresh-rejected', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const first = await signedInPage(world, worker)
    const second = await loadedPage(world, worker)
    await revoke(await storedRefreshToken())

    const error = await rejection(first.auth.refresh())
    expect(isAuthError(error, 'grant_rejected'), String(error)).toBe(true)
    await eventually(() => second.auth.getSnapshot().status === 'signed-out', 'the other page ends too')

    for (const page of [first, second])
      expect(page.auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'refresh-rejected' })
    expect(refreshGrants(worker.network)).toEqual([expect.objectContaining({ status: 400 })])
    expect(refreshGrants(first.network)).toEqual([])
    expect(await get(sessionKey(strict), createStore('spa-auth', 'kv'))).toBeUndefined()
  })

  it('a page the announcement reaches late still ends with refresh-rejected: the worker answers with the reason', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const late = lateChannels(world)
    const first = openPage(world, worker, { environment: { openChannel: late.openChannel } })
    await first.auth.ready()
    await signIn(strict, first.auth)
    const second = await loadedPage(world, worker, { environment: { openChannel: late.openChannel } })
    await revoke(await storedRefreshToken())

    const rejected = await rejection(first.auth.refresh())

    // Ended as soon as refresh() rejects, as when the page refreshes itself.
    expect(isAuthError(rejected, 'grant_rejected'), String(rejected)).toBe(true)
    expect(first.auth.getSnapshot()).toMatchObject({
      status: 'signed-out',
      reason: 'refresh-rejected',
      error: { code: 'grant_rejected' },
    })
    // A page that asks afterwards finds the session gone, and hears why.
    const ended = await rejection(second.auth.refresh())
    expect(isAuthError(ended, 'not_signed_in'), String(ended)).toBe(true)
    expect(second.auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'refresh-rejected' })

    late.deliver()
    await flushEventLoop()
    for (const page of [first, second])
      expect(page.auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'refresh-rejected' })
    expect(refreshGrants(worker.network)).toEqual([expect.objectContaining({ status: 400 })])
  })
})

describe('a page that reloads during the worker refresh', () => {
  it('is signed in again, and its next refresh presents the rotated token', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const before = await signedInPage(world, worker)
    await world.clock.advance(10_000)
    const hold = strict.holdNext({ grantType: 'refresh_token' })
    void before.auth.refresh().catch(() => {})
    await hold.reached

    // The provider has rotated the refresh token; its answer waits. The page reloads meanwhile.
    before.auth.dispose()
    const after = await loadedPage(world, worker)
    expect(after.auth.refreshIn).toBe('worker')
    hold.release()
    await worker.idle()

    const [rotation] = refreshGrants(worker.network)
    expect(rotation).toMatchObject({ status: 200 })
    await eventually(
      async () => (await after.auth.getAccessToken()) === issuedToken(rotation),
      'the reloaded page takes the rotated session',
    )

    await world.clock.advance(10_000)
    await after.auth.refresh()

    const [, next] = refreshGrants(worker.network)
    expect(next).toMatchObject({ status: 200 })
    expect(next!.refreshToken).not.toBe(rotation!.refreshToken)
    expect(strict.countRequests({ grantType: 'refresh_token' })).toBe(2)
    expect(await after.auth.getAccessToken()).toBe(issuedToken(next))
    expect(after.auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: null })
    expect([before, after].flatMap((page) => refreshGrants(page.network))).toEqual([])
  })
})

describe("refreshIn: 'page'", () => {
  it('never asks the worker', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const page = openPage(world, worker, { config: { refreshIn: 'page' } })
    await page.auth.ready()
    expect(page.auth.refreshIn).toBe('page')
    await signIn(strict, page.auth)

    await world.clock.advance(10_000)
    await page.auth.refresh()
    await world.clock.advance(page.auth.nextRefreshAt()! - world.clock.now())
    await eventually(() => refreshGrants(page.network).length === 2, 'the background refresh')

    expect(worker.connections()).toBe(0)
    expect(worker.requests).toEqual([])
    expect(refreshGrants(worker.network)).toEqual([])
    expectAllAnswered(page.network)
  })
})

describe('a deploy while the worker lives', () => {
  let optionalDpop: TestProvider

  beforeAll(async () => {
    optionalDpop = await startTestProvider({
      profile: 'strict',
      accessTokenTtlSeconds: 120,
      redirectUris: [`${APP}/callback`],
      dpop: 'optional',
    })
  })
  afterAll(() => optionalDpop?.close())

  /** A page of a deploy with `dpop` on or off, signed in against the DPoP-capable provider. */
  async function deployedPage(world: World, worker: FakeRefreshWorker, dpop: boolean): Promise<Tab> {
    const page = openPage(world, worker, { provider: optionalDpop, config: { dpop } })
    await page.auth.ready()
    await signIn(optionalDpop, page.auth)
    return page
  }

  it.each([
    ['turned DPoP off', true, false],
    ['turned DPoP on', false, true],
  ])(
    'refreshes the session of a page of a deploy that %s, with that page’s own configuration',
    async (_, before, after) => {
      const { world, worker } = startBrowserWithRefreshWorker()
      // A page of the earlier deploy refreshes through the worker, which lives on.
      const earlier = await deployedPage(world, worker, before)
      await earlier.auth.refresh()
      await earlier.auth.signOut({ redirect: false })
      earlier.auth.dispose()

      const later = await deployedPage(world, worker, after)
      await later.auth.refresh()

      expect(later.auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: null })
      expect(refreshGrants(worker.network).map(({ status }) => status)).toEqual([200, 200])
      expect(refreshGrants(later.network)).toEqual([])
      const token = await later.auth.getAccessToken()
      expect(token).toBe(issuedToken(refreshGrants(worker.network)[1]))
    },
  )

  it('refreshes by itself when the worker speaks another version, and asks it no more', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const older = olderWorker()
    const page = openPage(world, worker, { environment: hostHooks({ openRefreshWorker: older.connect }) })
    await page.auth.ready()
    await signIn(strict, page.auth)
    const signedInUntil = signedIn(page.auth).expiresAt

    await world.clock.advance(signedInUntil - world.clock.now() + 1_000)
    const token = await page.auth.getAccessToken()

    expect(token).toBe(issuedToken(refreshGrants(page.network)[0]))
    expect(refreshGrants(page.network)).toHaveLength(1)
    expect(older.asked).toBe(1)
    expect(page.auth.refreshIn).toBe('page')
  })

  it.each([
    ['a Vue reactive() proxy', (config: AuthConfig) => reactive(config)],
    ['an object with a function-valued property', (config: AuthConfig) => ({ ...config, onReady: () => {} })],
  ])('sends the worker a configuration it can take when the app passed %s', async (_, shape) => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const page = openPage(world, worker, { configObject: shape })
    await page.auth.ready()
    await signIn(strict, page.auth)

    await page.auth.refresh()

    expect(refreshGrants(worker.network).map(({ status }) => status)).toEqual([200])
    expect(refreshGrants(page.network)).toEqual([])
    expect(page.auth.refreshIn).toBe('worker')
  })
})

describe('dispose() while the worker refreshes', () => {
  it('settles the pending refresh with disposed, arms no timer, and never refreshes in the page afterwards', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const page = await signedInPage(world, worker)
    worker.pause()
    const refreshing = rejection(page.auth.refresh())
    await eventually(() => worker.requests.length === 1, 'the page asks the worker')

    page.auth.dispose()

    expect(isAuthError(await refreshing, 'disposed')).toBe(true)
    expect(world.clock.pending()).toBe(0)
    await world.clock.advance(ANSWER_TIMEOUT_MS)
    await world.browser.idle()
    expect(refreshGrants(page.network)).toEqual([])
  })
})

/** A refresh worker of an older deploy: it answers every request the way its own version did, and refreshes nothing. */
function olderWorker() {
  let asked = 0
  return {
    get asked() {
      return asked
    },
    connect: () => {
      const listeners = new Set<(message: unknown) => void>()
      return {
        postMessage(message: unknown) {
          asked++
          const { id } = structuredClone(message) as { id: number }
          queueMicrotask(() => listeners.forEach((listener) => listener({ id, ok: true })))
        },
        onMessage(listener: (message: unknown) => void) {
          listeners.add(listener)
          return () => void listeners.delete(listener)
        },
        onError: () => () => {},
        close: () => listeners.clear(),
      }
    },
  }
}

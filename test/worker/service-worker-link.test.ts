// @vitest-environment node
/**
 * Refreshes in the refresh service worker, where no SharedWorker outlives its pages,
 * and the fallbacks real browsers cannot show on cue: a registration the browser refuses, a worker
 * that is never activated, one that never answers, one of another version, a browser without
 * service workers. The service worker is the library's own refresh host on the same IndexedDB
 * (fake-indexeddb, a fresh database per test), Web Locks, channels and clock as the pages, behind a
 * service worker container whose messages carry real MessagePorts; the provider rotates refresh
 * tokens and detects reuse. Everything else goes through the public API.
 */
import 'fake-indexeddb/auto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServiceWorkerContainerLike } from '../../src/platform/environment.js'
import { expectNoSecretInErrors } from '../support/error-collector.js'
import { eventually } from '../support/fake-clock.js'
import {
  freshProfileForEachTest,
  startBrowserWithRefreshWorker,
  type FakeRefreshWorker,
} from '../support/fake-refresh-worker.js'
import { hostHooks } from '../support/host-hooks.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { APP, openAppPage, signIn, type Network, type Tab, type World } from '../support/world.js'

/** The default `requestTimeoutMs` (10 s): how long a page waits for the service worker to be activated. */
const ACTIVATION_TIMEOUT_MS = 10_000
/** Four times `requestTimeoutMs`: how long a page waits for the worker's answer. */
const ANSWER_TIMEOUT_MS = 40_000

let strict: TestProvider

beforeAll(async () => {
  strict = await startTestProvider({ profile: 'strict', accessTokenTtlSeconds: 120, redirectUris: [`${APP}/callback`] })
})
afterAll(() => strict?.close())
afterAll(() => expectNoSecretInErrors({ errors: 0, secrets: 10 }))

freshProfileForEachTest(() => strict)

/** A page of the app (see `openAppPage`) whose refreshes may run in `worker`'s service worker. */
function openPage(
  world: World,
  worker: FakeRefreshWorker,
  hooks: {
    refreshServiceWorkers?: () => ServiceWorkerContainerLike | undefined
    refreshWorkerAvailable?: () => boolean
  } = {},
): Tab {
  const config = { issuer: strict.issuer, clientId: strict.clientId, redirectUri: `${APP}/callback` }
  return openAppPage(
    world,
    config,
    hostHooks({
      refreshWorkerAvailable: () => false,
      refreshServiceWorkers: () => worker.serviceWorkers(),
      openRefreshWorker: () => worker.connect(),
      ...hooks,
    }),
  )
}

/** A page that signed in. */
async function signedInPage(world: World, worker: FakeRefreshWorker, hooks: Parameters<typeof openPage>[2] = {}) {
  const page = openPage(world, worker, hooks)
  await page.auth.ready()
  await signIn(strict, page.auth)
  return page
}

const refreshGrants = (network: Network) => network.tokenRequests('refresh_token')

/** The page made the one refresh grant, with a 200, and holds its token. */
async function expectRefreshedByThePage(page: Tab, worker: FakeRefreshWorker): Promise<void> {
  expect(refreshGrants(page.network)).toEqual([expect.objectContaining({ status: 200 })])
  expect(refreshGrants(worker.network)).toEqual([])
  expect(strict.countRequests({ grantType: 'refresh_token' })).toBe(1)
  expect(await page.auth.getAccessToken()).toBe(refreshGrants(page.network)[0]?.issued?.accessToken)
  expect(page.auth.refreshIn).toBe('page')
}

describe('refreshes in the refresh service worker', () => {
  it('auth.refresh() is made by the service worker, registered under a scope of its own beside its script', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const page = await signedInPage(world, worker)
    expect(page.auth.refreshIn).toBe('service-worker')

    await page.auth.refresh()
    await page.auth.refresh()

    expect(refreshGrants(page.network)).toEqual([])
    expect(refreshGrants(worker.network).map(({ status }) => status)).toEqual([200, 200])
    expect(await page.auth.getAccessToken()).toBe(refreshGrants(worker.network)[1]?.issued?.accessToken)
    expect(page.auth.refreshIn).toBe('service-worker')
    expect(worker.requests).toEqual([
      expect.objectContaining({ v: 2, request: expect.objectContaining({ force: true }) }),
      expect.objectContaining({ v: 2, request: expect.objectContaining({ force: true }) }),
    ])
    // Registered once per page, a classic script (nothing to import), scoped under its own path.
    expect(worker.registrations).toHaveLength(1)
    const [{ script, options }] = worker.registrations as [(typeof worker.registrations)[0]]
    expect(script).toMatch(/\/refresh-service-worker\.js$/)
    expect(options).toEqual({
      type: 'classic',
      scope: new URL('./spa-auth-refresh@2/', script).href,
      updateViaCache: 'none',
    })
  })

  it('a page that reloads while the service worker refreshes is signed in again with the rotated token', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const before = await signedInPage(world, worker)
    const hold = strict.holdNext({ grantType: 'refresh_token' })
    void before.auth.refresh().catch(() => {})
    await hold.reached

    before.auth.dispose()
    const after = openPage(world, worker)
    await after.auth.ready()
    hold.release()
    await worker.idle()

    const [rotation] = refreshGrants(worker.network)
    await eventually(
      async () => (await after.auth.getAccessToken()) === rotation?.issued?.accessToken,
      'the reloaded page takes the rotated session',
    )
    await after.auth.refresh()
    expect(refreshGrants(worker.network).map(({ status }) => status)).toEqual([200, 200])
    expect(after.auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: null })
  })

  it('where a SharedWorker outlives its pages, refreshes run there and no service worker is registered', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const page = await signedInPage(world, worker, { refreshWorkerAvailable: () => true })
    expect(page.auth.refreshIn).toBe('worker')

    await page.auth.refresh()

    expect(refreshGrants(worker.network)).toEqual([expect.objectContaining({ status: 200 })])
    expect(worker.registrations).toEqual([])
    expect(page.auth.refreshIn).toBe('worker')
  })
})

describe('when the service worker cannot do it, the page refreshes itself', () => {
  it('a browser without service workers (an insecure origin, a policy): refreshIn says page from the start', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const page = await signedInPage(world, worker, { refreshServiceWorkers: () => undefined })
    expect(page.auth.refreshIn).toBe('page')

    await page.auth.refresh()

    await expectRefreshedByThePage(page, worker)
    expect(worker.registrations).toEqual([])
  })

  it('a registration the browser refuses (a Content-Security-Policy without worker-src): the page refreshes, and never registers again', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    worker.registering = 'rejects'
    const page = await signedInPage(world, worker)
    expect(page.auth.refreshIn).toBe('service-worker')

    await page.auth.refresh()

    await expectRefreshedByThePage(page, worker)
    await page.auth.refresh()
    expect(worker.registrations).toHaveLength(1)
    expect(refreshGrants(page.network)).toHaveLength(2)
  })

  it('a worker that is not activated in time: the page refreshes once the activation timeout is over, and the worker never hears of it', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    worker.registering = 'stays-installing'
    const page = await signedInPage(world, worker)

    const refreshing = page.auth.refresh()
    await eventually(() => worker.registrations.length === 1, 'the page registers the worker')
    await world.clock.advance(ACTIVATION_TIMEOUT_MS - 1)
    expect(refreshGrants(page.network)).toEqual([])
    await world.clock.advance(1)
    await refreshing

    await expectRefreshedByThePage(page, worker)
    expect(worker.requests).toEqual([])
  })

  it('a worker that never answers: the page refreshes after the answer timeout, and from then on', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const page = await signedInPage(world, worker)
    worker.pause()

    const refreshing = page.auth.refresh()
    await eventually(() => worker.requests.length === 1, 'the page asks the worker')
    await world.clock.advance(ANSWER_TIMEOUT_MS - 1)
    expect(refreshGrants(page.network)).toEqual([])
    await world.clock.advance(1)
    await refreshing

    await expectRefreshedByThePage(page, worker)
    await page.auth.refresh()
    expect(worker.requests).toHaveLength(1)
  })

  it('a worker of another version: the page refreshes by itself, and asks it no more', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    const older = olderServiceWorkers()
    const page = await signedInPage(world, worker, { refreshServiceWorkers: () => older.container })

    await page.auth.refresh()

    await expectRefreshedByThePage(page, worker)
    await page.auth.refresh()
    expect(older.asked).toBe(1)
  })

  it('dispose() while the service worker is registering sends nothing, and refreshes nothing in the page', async () => {
    const { world, worker } = startBrowserWithRefreshWorker()
    worker.registering = 'stays-installing'
    const page = await signedInPage(world, worker)
    const refreshing = page.auth.refresh().catch((error: { code?: string }) => error.code)
    await eventually(() => worker.registrations.length === 1, 'the page registers the worker')

    page.auth.dispose()

    expect(await refreshing).toBe('disposed')
    await world.clock.advance(ANSWER_TIMEOUT_MS)
    expect(worker.requests).toEqual([])
    expect(refreshGrants(page.network)).toEqual([])
  })
})

/** A service worker container whose refresh service worker is of an older deploy: it answers every request in its own version. */
function olderServiceWorkers() {
  let asked = 0
  const container: ServiceWorkerContainerLike = {
    register: async () => ({
      installing: null,
      waiting: null,
      active: {
        state: 'activated',
        postMessage(message, transfer) {
          asked++
          const { id } = structuredClone(message) as { id: number }
          ;(transfer[0] as MessagePort).postMessage({ v: 1, id, outcome: { kind: 'adopted' } })
        },
        addEventListener: () => {},
        removeEventListener: () => {},
      },
    }),
  }
  return {
    container,
    get asked() {
      return asked
    },
  }
}

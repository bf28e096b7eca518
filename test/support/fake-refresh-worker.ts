/**
 * The refresh worker in process: the library's own refresh host (what the SharedWorker and the
 * service worker run) over the world's IndexedDB, Web Locks, BroadcastChannels and clock, with a
 * network of its own, reached by each page through a `WorkerConnection` (`environment.openRefreshWorker`)
 * or as the refresh service worker of a service worker container (`environment.refreshServiceWorkers`),
 * whose requests come with a real MessagePort for the answer. Like a MessagePort, a connection
 * delivers copies, later. The test can keep the worker from answering (a worker still starting, or
 * stuck), make its script fail to load, and make registering it fail or never finish.
 *
 * The pages' default store must be IndexedDB for them to use it: install `fake-indexeddb` first.
 */
import {
  createBrowserEnvironment,
  type ServiceWorkerContainerLike,
  type ServiceWorkerLike,
  type WorkerConnection,
} from '../../src/platform/environment.js'
import { createRefreshHost } from '../../src/worker/host.js'
import { createIndexedDbStore } from '../../src/platform/storage.js'
import type { WorkerAnswer, WorkerRequest } from '../../src/worker/messages.js'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, vi } from 'vitest'
import { flushEventLoop } from './fake-clock.js'
import type { TestProvider } from './provider.js'
import { createNetwork, createWorld, disposeOpenTabs, type Network, type World } from './world.js'

export interface FakeRefreshWorker {
  /** `environment.openRefreshWorker` of a page: a new connection to this one worker. */
  connect(): WorkerConnection
  /** The worker's own network: the provider over Node's fetch, every exchange recorded. */
  readonly network: Network
  /** Every request pages sent, in the order the worker received them. */
  readonly requests: readonly WorkerRequest[]
  /** How many connections pages opened. */
  connections(): number
  /** From now on the worker receives requests but answers none of them until `resume()`. */
  pause(): void
  /** Answers the requests held since `pause()`, and every later one at once. */
  resume(): void
  /**
   * The worker's script failed to load: every connection fires its error listeners, now and when
   * opened later; nothing sent to it is ever answered, also what it holds since `pause()` (a
   * script still loading).
   */
  failToLoad(): void
  /** Resolves once every request the worker took has been answered and the answer delivered. */
  idle(): Promise<void>
  /**
   * `environment.refreshServiceWorkers` of a page: a service worker container in which this worker
   * is the refresh service worker; registering it goes as {@link registering} says.
   */
  serviceWorkers(): ServiceWorkerContainerLike
  /**
   * What `register()` does: `'activates'` the worker at once (the default), `'rejects'` (a policy,
   * a Content-Security-Policy without `worker-src`), or resolves a worker that stays `'installing'`.
   */
  registering: 'activates' | 'rejects' | 'stays-installing'
  /** Every `register()` call: the script's address and the options. */
  readonly registrations: ReadonlyArray<{ script: string; options: RegistrationOptions }>
}

/** A browser with its refresh worker running (its SharedWorker, or its refresh service worker), and nothing open yet. */
export function startBrowserWithRefreshWorker(): { world: World; worker: FakeRefreshWorker } {
  const world = createWorld()
  return { world, worker: createFakeRefreshWorker(world) }
}

/**
 * Runs each test of the file in a fresh browser profile: an empty IndexedDB (the pages' default
 * store and the worker's), the provider's request log reset, and every page closed afterwards.
 */
export function freshProfileForEachTest(provider: () => TestProvider): void {
  beforeEach(() => {
    vi.stubGlobal('indexedDB', new IDBFactory())
    provider().resetRequests()
  })
  afterEach(() => {
    disposeOpenTabs()
    vi.unstubAllGlobals()
  })
}

interface Port {
  messages: Set<(message: unknown) => void>
  errors: Set<() => void>
}

/** Starts a worker in `world`; `random` pins the jitter of its retry delays. */
export function createFakeRefreshWorker(world: World, options: { random?: () => number } = {}): FakeRefreshWorker {
  const network = createNetwork(world.clock)
  const host = createRefreshHost({
    store: createIndexedDbStore(),
    env: {
      ...createBrowserEnvironment(),
      now: world.clock.now,
      random: options.random ?? (() => 0.5),
      setTimeout: world.clock.setTimeout,
      clearTimeout: world.clock.clearTimeout,
      fetch: network.fetch,
      ...world.browser.environment(),
    },
  })
  const requests: WorkerRequest[] = []
  const ports: Port[] = []
  let held: Array<() => void> | undefined
  let failed = false
  let busy = 0

  function receive(port: Port, request: WorkerRequest): void {
    requests.push(request)
    const work = () => {
      if (!failed) void host.answer(request).then((answer) => deliver(port, answer))
    }
    busy++
    if (held) held.push(work)
    else work()
  }

  function deliver(port: Port, answer: WorkerAnswer): void {
    const copy = structuredClone(answer)
    queueMicrotask(() => {
      busy--
      for (const listener of [...port.messages]) listener(structuredClone(copy))
    })
  }

  function fail(port: Port): void {
    queueMicrotask(() => {
      for (const listener of [...port.errors]) listener()
    })
  }

  const registrations: Array<{ script: string; options: RegistrationOptions }> = []
  /** The refresh service worker, as the page's registration holds it: each message comes with its answer's port. */
  const serviceWorker = (state: string): ServiceWorkerLike => ({
    state,
    postMessage(message, transfer) {
      const request = structuredClone(message) as WorkerRequest
      const [answerPort] = transfer as MessagePort[]
      const port: Port = { messages: new Set([(answer) => answerPort?.postMessage(answer)]), errors: new Set() }
      queueMicrotask(() => {
        if (!failed) receive(port, request)
      })
    },
    addEventListener: () => {},
    removeEventListener: () => {},
  })

  const worker: FakeRefreshWorker = {
    registering: 'activates',
    registrations,
    serviceWorkers: () => ({
      async register(script, options) {
        registrations.push({ script: String(script), options })
        if (worker.registering === 'rejects')
          throw new DOMException('Registering a service worker is not allowed here.', 'SecurityError')
        const installing = worker.registering === 'stays-installing'
        return {
          installing: installing ? serviceWorker('installing') : null,
          waiting: null,
          active: installing ? null : serviceWorker('activated'),
        }
      },
    }),
    connect() {
      const port: Port = { messages: new Set(), errors: new Set() }
      ports.push(port)
      if (failed) fail(port)
      return {
        postMessage(message) {
          const request = structuredClone(message) as WorkerRequest
          queueMicrotask(() => {
            if (!failed) receive(port, request)
          })
        },
        onMessage(listener) {
          const entry = (message: unknown) => listener(message)
          port.messages.add(entry)
          return () => void port.messages.delete(entry)
        },
        close() {
          port.messages.clear()
          port.errors.clear()
        },
        onError(listener) {
          const entry = () => listener()
          port.errors.add(entry)
          return () => void port.errors.delete(entry)
        },
      }
    },
    network,
    requests,
    connections: () => ports.length,
    pause() {
      held ??= []
    },
    resume() {
      const waiting = held ?? []
      held = undefined
      for (const work of waiting) work()
    },
    failToLoad() {
      failed = true
      busy -= held?.length ?? 0
      held = undefined
      for (const port of ports) fail(port)
    },
    async idle() {
      for (let round = 0; round < 1000 && busy > (held?.length ?? 0); round++) {
        await world.browser.idle()
        await flushEventLoop()
      }
      await flushEventLoop()
    },
  }
  return worker
}

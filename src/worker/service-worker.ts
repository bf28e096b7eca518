/**
 * The refresh service worker: where no SharedWorker outlives its pages (Firefox, Safari), a service
 * worker used only as a background host for the refresh (see `host.ts`). A page posts each request
 * with a MessagePort for the answer, and the message event's `waitUntil` keeps the worker alive
 * until the refresh is committed, however soon the page goes away: a reload, a navigation or a
 * closed tab no longer aborts a refresh after the provider rotated the refresh token. It handles no
 * fetch and controls no page. The library build bundles it into one classic script,
 * `refresh-service-worker.js`, with every dependency inlined (a service worker may not `import()`).
 */
import { createWorkerEnvironment } from '../platform/environment.js'
import { createIndexedDbStore } from '../platform/storage.js'
import { createRefreshHost } from './host.js'

/** The events of a service worker's global scope this script listens to. */
interface ExtendableEventLike {
  waitUntil(work: Promise<unknown>): void
}
interface ExtendableMessageEventLike extends ExtendableEventLike {
  readonly data: unknown
  readonly ports: readonly MessagePort[]
}
interface ServiceWorkerScope {
  skipWaiting(): Promise<void>
  addEventListener(type: 'install', listener: (event: ExtendableEventLike) => void): void
  addEventListener(type: 'message', listener: (event: ExtendableMessageEventLike) => void): void
}

const scope = globalThis as unknown as ServiceWorkerScope
const host = createRefreshHost({ store: createIndexedDbStore(), env: createWorkerEnvironment() })

// A new deploy's script takes over at once: no page waits for this worker's clients to go, it has none.
scope.addEventListener('install', (event) => event.waitUntil(scope.skipWaiting()))

scope.addEventListener('message', (event) => {
  const port = event.ports[0]
  if (port === undefined) return
  // The page may be gone by the time the answer is ready: the refresh is committed either way.
  event.waitUntil(host.answer(event.data).then((reply) => port.postMessage(reply)))
})

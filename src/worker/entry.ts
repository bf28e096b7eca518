/**
 * The refresh worker: a SharedWorker with `extendedLifetime`, which the browser keeps running after
 * its last page is gone. A page asks it to refresh; it runs exactly the page's refresh transaction
 * (see `host.ts`) and answers. A reload, a navigation or a closed tab no longer aborts a refresh
 * after the provider rotated the refresh token but before the new one was stored.
 */
import { createWorkerEnvironment } from '../platform/environment.js'
import { createIndexedDbStore } from '../platform/storage.js'
import { createRefreshHost } from './host.js'

const host = createRefreshHost({ store: createIndexedDbStore(), env: createWorkerEnvironment() })

interface ConnectEvent {
  ports: readonly MessagePort[]
}

;(globalThis as unknown as { onconnect: (event: ConnectEvent) => void }).onconnect = (event) => {
  const port = event.ports[0]!
  port.onmessage = (message: MessageEvent<unknown>) => {
    // The page may be gone by the time the answer is ready: the work is done either way.
    void host.answer(message.data).then((reply) => port.postMessage(reply))
  }
}

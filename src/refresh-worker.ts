/**
 * The refresh worker: a SharedWorker with `extendedLifetime`, which the browser keeps running after
 * its last page is gone. A page asks it to refresh; it runs exactly the page's refresh (the Web
 * Lock, the record re-read inside it, oauth4webapi's grant and checks, compare-and-set, the
 * announcement to every tab) and answers. A reload, a navigation or a closed tab no longer aborts a
 * refresh after the provider rotated the refresh token but before the new one was stored.
 */
import { resolveConfig, type AuthConfig } from './config.js'
import { createTabSync } from './cross-tab.js'
import { createBrowserEnvironment, randomId } from './environment.js'
import { isAuthError } from './errors.js'
import { createProtocol, type Protocol } from './protocol.js'
import { createRecordStore } from './record-store.js'
import { createRefresher, type RefreshOptions, type Refresher } from './refresher.js'
import { createCommits } from './session-commits.js'
import type { SignedOutReason } from './session-machine.js'
import { createIndexedDbStore } from './storage.js'
import type { SessionMessage } from './tab-follower.js'
import type { WorkerAnswer, WorkerRequest } from './worker-refresher.js'

/** One session the worker refreshes, and the reasons its generations ended with. */
interface Host {
  refresher: Refresher
  ended: Map<string, SignedOutReason>
}

const hosts = new Map<string, Host>()
const store = createIndexedDbStore()

function hostFor(authConfig: AuthConfig): Host {
  const config = resolveConfig(authConfig)
  let host = hosts.get(config.sessionName)
  if (host) return host
  const env = createBrowserEnvironment()
  const tabs = createTabSync<SessionMessage>(env, config.sessionName)
  const records = createRecordStore(store, config.sessionKey, randomId)
  const ended = new Map<string, SignedOutReason>()
  let protocol: Protocol | undefined
  const refresher = createRefresher({
    config,
    env,
    tabs,
    records,
    protocol: async () => (protocol ??= createProtocol(config, env, store)),
    // The worker holds no session of its own: each request names the record it starts from.
    seen: () => undefined,
    ending: () => false,
    dispatch(event) {
      if (event.type === 'ended' && event.generation !== undefined) ended.set(event.generation, event.reason)
    },
    commits: createCommits({ records, tabs, dispatch: () => {}, ending: () => false }),
  })
  host = { refresher, ended }
  hosts.set(config.sessionName, host)
  return host
}

async function answer(request: WorkerRequest): Promise<WorkerAnswer> {
  const { id, options } = request
  let host: Host | undefined
  try {
    host = hostFor(request.config)
    await host.refresher.refresh(options as RefreshOptions)
    return { id, ok: true }
  } catch (error) {
    const { code, message } = isAuthError(error) ? error : { code: 'invalid_response' as const, message: String(error) }
    const ended = options.seen && host?.ended.get(options.seen.generation)
    return { id, ok: false, error: { code, message }, ...(ended ? { ended } : {}) }
  }
}

interface ConnectEvent {
  ports: readonly MessagePort[]
}

;(globalThis as unknown as { onconnect: (event: ConnectEvent) => void }).onconnect = (event) => {
  const port = event.ports[0]!
  port.onmessage = (message: MessageEvent<WorkerRequest>) => {
    // The page may be gone by the time the answer is ready: the work is done either way.
    void answer(message.data).then((reply) => port.postMessage(reply))
  }
}

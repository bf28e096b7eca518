/**
 * What the refresh worker does, apart from how pages reach it: for each request, the session's
 * refresh transaction exactly as a page runs it (the Web Lock, the record re-read inside it,
 * oauth4webapi's grant and checks, compare-and-set, the announcement to every tab), with the
 * asking page's configuration — the worker outlives deploys, so it keeps none of its own — and
 * the outcome as the answer. `entry.ts` hosts it in the SharedWorker and `service-worker.ts` in
 * the refresh service worker, over the browser's IndexedDB; a test hosts it over its own store,
 * locks, channels and clock.
 */
import type { AuthEnvironment } from '../platform/environment.js'
import { asAuthError, errorData } from '../platform/errors.js'
import type { KeyValueStore } from '../platform/storage.js'
import { createTabSync, type TabSync } from '../platform/tab-sync.js'
import { resolveConfig, type AuthConfig } from '../protocol/config.js'
import { createBinding } from '../protocol/binding.js'
import { createRefreshSteps, type RefreshSteps } from '../protocol/refresh-steps.js'
import { randomId } from '../platform/environment.js'
import type { SessionMessage } from '../session/messages.js'
import { createRecordStore, type RecordStore } from '../session/record-store.js'
import { runRefresh, type RefreshContext } from '../session/refresh.js'
import { plainConfig, toWire, WORKER_PROTOCOL, type WorkerAnswer, type WorkerRequest } from './messages.js'

/** The refresh worker's work. */
export interface RefreshHost {
  /** Runs the refresh a page asked for and resolves the answer for it; never rejects. */
  answer(message: unknown): Promise<WorkerAnswer>
}

/** How many configurations keep their protocol (discovery document, DPoP nonces) between requests. */
const KEPT_CONFIGURATIONS = 8

/** Creates a {@link RefreshHost} over `store`, the database the pages keep their sessions in. */
export function createRefreshHost(deps: { store: KeyValueStore; env: AuthEnvironment }): RefreshHost {
  const { store, env } = deps
  const sessions = new Map<string, { records: RecordStore; tabs: TabSync<SessionMessage> }>()
  const protocols = new Map<string, RefreshSteps>()

  /** The context of one request: the session's store and channel, and a protocol bound to exactly this configuration. */
  function contextFor(authConfig: AuthConfig): RefreshContext {
    const config = resolveConfig(authConfig)
    let session = sessions.get(config.sessionKey)
    if (session === undefined) {
      const records = createRecordStore(store, config.sessionKey, randomId)
      session = { records, tabs: createTabSync<SessionMessage>(env, config.sessionName) }
      sessions.set(config.sessionKey, session)
    }
    // Two pages of two deploys may configure one session differently (DPoP turned on, a new
    // endpoint): each is served with its own configuration, never the first one seen.
    const key = JSON.stringify(plainConfig(config))
    let protocol = protocols.get(key)
    if (protocol === undefined) {
      protocol = createRefreshSteps(createBinding(config, env, store))
      protocols.set(key, protocol)
      if (protocols.size > KEPT_CONFIGURATIONS) protocols.delete(protocols.keys().next().value!)
    }
    const bound = protocol
    return { config, env, ...session, provider: async () => bound }
  }

  return {
    async answer(message) {
      const id = typeof (message as WorkerRequest | undefined)?.id === 'number' ? (message as WorkerRequest).id : -1
      if (!isRequest(message)) return { v: WORKER_PROTOCOL, id, mismatch: true }
      try {
        const outcome = await runRefresh(contextFor(message.config), message.request)
        return { v: WORKER_PROTOCOL, id, outcome: toWire(outcome) }
      } catch (error) {
        return { v: WORKER_PROTOCOL, id, failed: errorData(asAuthError(error)) }
      }
    },
  }
}

function isRequest(message: unknown): message is WorkerRequest {
  const request = message as Partial<WorkerRequest> | undefined
  return (
    request?.v === WORKER_PROTOCOL &&
    typeof request.id === 'number' &&
    typeof request.config === 'object' &&
    typeof request.request?.held === 'object'
  )
}

/**
 * What the refresh worker does, apart from how pages reach it: for each request, the page's own
 * refresh of that session (the Web Lock, the record re-read inside it, oauth4webapi's grant and
 * checks, compare-and-set, the announcement to every tab), and the answer. `refresh-worker.ts`
 * hosts it in the SharedWorker over the browser's IndexedDB; a test hosts it over its own store,
 * locks, channels and clock.
 */
import { resolveConfig, type AuthConfig } from '../protocol/config.js'
import { createTabSync } from '../platform/tab-sync.js'
import { randomId, type AuthEnvironment } from '../platform/environment.js'
import { asAuthError } from '../platform/errors.js'
import { createProtocol, type Protocol } from '../protocol/provider.js'
import { createRecordStore } from '../session/record-store.js'
import { createRefresher, type RefreshOptions, type Refresher } from '../session/refresher.js'
import { createCommits } from '../session/commits.js'
import type { SessionEvent, SignedOutReason } from '../session/machine.js'
import type { KeyValueStore } from '../platform/storage.js'
import type { SessionMessage } from '../session/tab-follower.js'
import type { WorkerAnswer, WorkerRequest } from './page.js'

/** The refresh worker's work: one refresher per session, shared by every page that asks. */
export interface RefreshHost {
  /** Refreshes the session `request` names and resolves the answer for the page; never rejects. */
  answer(request: WorkerRequest): Promise<WorkerAnswer>
}

/** One session the host refreshes, and the reasons its generations ended with. */
interface Hosted {
  refresher: Refresher
  ended: Map<string, SignedOutReason>
}

/** Creates a {@link RefreshHost} over `store`, the database the pages keep their sessions in. */
export function createRefreshHost(deps: { store: KeyValueStore; env: AuthEnvironment }): RefreshHost {
  const { store, env } = deps
  const hosted = new Map<string, Hosted>()

  function hostFor(authConfig: AuthConfig): Hosted {
    const config = resolveConfig(authConfig)
    let host = hosted.get(config.sessionName)
    if (host) return host
    const tabs = createTabSync<SessionMessage>(env, config.sessionName)
    const records = createRecordStore(store, config.sessionKey, randomId)
    const ended = new Map<string, SignedOutReason>()
    // The ends the worker causes (the provider refused the token: the commits end the session) and
    // the ones it finds (the record is gone): a page hears the reason with the answer, whether that
    // or the other tabs' announcement reaches it first. The first reason is the cause; a later
    // request only finds the session gone.
    const noteEnd = (event: SessionEvent) => {
      if (event.type !== 'ended' || event.generation === undefined || ended.has(event.generation)) return
      ended.set(event.generation, event.reason)
    }
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
      dispatch: noteEnd,
      commits: createCommits({ records, tabs, dispatch: noteEnd, ending: () => false }),
    })
    host = { refresher, ended }
    hosted.set(config.sessionName, host)
    return host
  }

  return {
    async answer(request) {
      const { id, options } = request
      let host: Hosted | undefined
      try {
        host = hostFor(request.config)
        await host.refresher.refresh(options as RefreshOptions)
        return { id, ok: true }
      } catch (error) {
        const { code, message } = asAuthError(error)
        const ended = options.seen && host?.ended.get(options.seen.generation)
        return { id, ok: false, error: { code, message }, ...(ended ? { ended } : {}) }
      }
    },
  }
}

import type { TabSync } from '../platform/tab-sync.js'
import { asAuthError, type AuthError } from '../platform/errors.js'
import type { RecordStore } from './record-store.js'
import type { SessionEvent, SignedOutReason } from './machine.js'
import { sameRevision, type SessionRecord } from './record.js'
import type { SessionMessage } from './tab-follower.js'

/**
 * Every change to the session record is a commit: written memory first, compared with the
 * revision it started from, and announced to the other tabs. The same commits serve a page (which
 * also publishes them through `dispatch`) and the refresh worker (which has no snapshot).
 */
export interface Commits {
  /** Writes a record (a completed sign-in), memory first, and tells the other tabs. */
  persist(record: SessionRecord): Promise<void>
  /**
   * Commits `next` if the store still holds `expected` (compare-and-set: without Web Locks another
   * tab may have written since this change began) and this tab is not signing out.
   * Resolves `false` when it did not.
   */
  commit(next: SessionRecord, expected: SessionRecord, error?: AuthError): Promise<boolean>
  /** Ends the session `generation` names: deletes the record, publishes, tells the other tabs. */
  end(reason: SignedOutReason, error: AuthError | null, generation: string): Promise<void>
}

export function createCommits(deps: {
  records: RecordStore
  tabs: TabSync<SessionMessage>
  dispatch(event: SessionEvent): void
  /** Whether this tab is signing out: then nothing it started before may be committed. */
  ending(): boolean
}): Commits {
  const { records, tabs, dispatch } = deps

  async function persist(record: SessionRecord): Promise<void> {
    try {
      await records.write(record)
    } catch (error) {
      dispatch({ type: 'storage-failed', error: asAuthError(error, 'storage_error') })
    }
    // A record the store refused travels with the announcement, so no tab presents a refresh
    // token the provider has already rotated. BroadcastChannel reaches this origin only.
    const unpersisted = records.unpersisted === record ? { record } : {}
    tabs.announce({ type: 'session-updated', generation: record.generation, revision: record.revision, ...unpersisted })
  }

  return {
    persist,
    async commit(next, expected, error) {
      if (deps.ending()) return false
      const check = await records.read().catch(() => undefined)
      if (!(check?.kind === 'record' && sameRevision(check.record, expected))) return false
      dispatch({ type: 'updated', record: next, ...(error ? { error } : {}) })
      await persist(next)
      return true
    },
    async end(reason, error, generation) {
      await records.remove().catch(() => {})
      dispatch({ type: 'ended', reason, error, generation })
      tabs.announce({ type: 'signed-out', generation, reason })
    },
  }
}

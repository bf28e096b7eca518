import { AuthError } from '../platform/errors.js'
import { readRecord, type SessionRecord, type StoredSession } from './record.js'
import type { KeyValueStore } from '../platform/storage.js'

/**
 * The session record in the store, memory first: a record the store could not take is kept here
 * and written again at the next read or write, so a store that fails mid-session never costs a
 * refresh token the provider has already rotated. Callers that change the record hold the
 * session's Web Lock; this module only reads and writes.
 */
export interface RecordStore {
  /**
   * The stored session, or the newer revision of it this tab could not persist yet. When the store
   * cannot be read, the last record this tab knows stands in for it.
   *
   * @throws AuthError `storage_error` when the store fails and this tab knows no record.
   */
  read(): Promise<StoredSession>
  /**
   * Writes `record`. It is held in memory first, so a rejection does not lose it.
   *
   * @throws AuthError `storage_error` when the store refuses the write.
   */
  write(record: SessionRecord): Promise<void>
  /**
   * Deletes the session, in the store and in memory.
   *
   * @throws AuthError `storage_error` when the store refuses the delete.
   */
  remove(): Promise<void>
  /** Takes a record another tab could not persist (it arrives over the channel), if it is newer than ours. */
  accept(record: SessionRecord): void
  /** The record waiting to be persisted, if any. */
  readonly unpersisted: SessionRecord | undefined
}

/** The record of `key` in `store`; `newGeneration` names sessions carried over from the 0.1 format. */
export function createRecordStore(store: KeyValueStore, key: string, newGeneration: () => string): RecordStore {
  let pending: SessionRecord | undefined
  let known: SessionRecord | undefined
  /** The sign-in whose record the store has held: once it is gone from there, it was ended. */
  let persistedGeneration: string | undefined

  /** Retries a pending write when the store holds an older revision of the same sign-in. */
  async function reconcile(stored: StoredSession): Promise<StoredSession> {
    if (pending === undefined) return stored
    const current = stored.kind === 'record' ? stored.record : undefined
    if (current === undefined || current.generation !== pending.generation) {
      // Deleted (a sign-out) or replaced (a new sign-in) since: the store wins, never resurrect.
      // A sign-in the store never took stays in memory.
      if (current !== undefined || persistedGeneration === pending.generation) pending = undefined
      return pending ? { kind: 'record', record: pending, migrated: false } : stored
    }
    if (current.revision >= pending.revision) {
      pending = undefined
      return stored
    }
    const record = pending
    await store.set(key, record).then(
      () => {
        persistedGeneration = record.generation
        if (pending === record) pending = undefined
      },
      () => {},
    )
    return { kind: 'record', record, migrated: false }
  }

  return {
    async read() {
      let value: unknown
      try {
        value = await store.get(key)
      } catch (cause) {
        const fallback = pending ?? known
        if (fallback) return { kind: 'record', record: fallback, migrated: false }
        throw new AuthError('storage_error', 'The stored session could not be read; sign in again.', { cause })
      }
      const parsed = readRecord(value, newGeneration)
      if (parsed.kind === 'record') persistedGeneration = parsed.record.generation
      const stored = await reconcile(parsed)
      known = stored.kind === 'record' ? stored.record : undefined
      return stored
    },
    async write(record) {
      pending = known = record
      try {
        await store.set(key, record)
      } catch (cause) {
        throw new AuthError(
          'storage_error',
          'The session could not be saved (storage is full or blocked); it is kept in memory for this tab and saved again later.',
          { cause },
        )
      }
      persistedGeneration = record.generation
      if (pending === record) pending = undefined
    },
    async remove() {
      pending = known = undefined
      try {
        await store.del(key)
      } catch (cause) {
        throw new AuthError(
          'storage_error',
          'The stored session could not be deleted; it may come back when the page reloads. Clear the site data to be sure.',
          { cause },
        )
      }
    },
    accept(record) {
      const mine = pending ?? known
      if (mine === undefined || mine.generation !== record.generation || mine.revision < record.revision) {
        pending = known = record
      }
    },
    get unpersisted() {
      return pending
    },
  }
}

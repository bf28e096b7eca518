import { AuthError } from '../platform/errors.js'
import type { KeyValueStore } from '../platform/storage.js'
import type { SignedOutReason } from './machine.js'
import { readRecord, sameRevision, type SessionRecord, type StoredSession } from './record.js'

/** How a compare-and-set ended. */
export type CommitResult =
  | { kind: 'committed' }
  /** The store holds another revision or sign-in (or nothing) than the change started from: nothing was written. */
  | { kind: 'stale' }
  /** The store failed; the record is kept in memory, written again at the next read, and `error` says so. */
  | { kind: 'unpersisted'; error: AuthError }

/**
 * The session record in the store, memory first: a record the store could not take is kept here
 * and written again at the next read or write, so a store that fails mid-session never costs a
 * refresh token the provider has already rotated. Every change is a compare-and-set in one store
 * transaction, so it is correct with or without the session's Web Lock.
 */
export interface RecordStore {
  /**
   * The stored session, or the newer revision of it this tab could not persist yet. A record of
   * the 0.1 format is carried over and written back at once, so it keeps one identity for every
   * tab. When the store cannot be read, the last record this tab knows stands in for it.
   *
   * @throws AuthError `storage_error` when the store fails and this tab knows no record.
   */
  read(): Promise<StoredSession>
  /**
   * Writes the record of a new sign-in, over whatever is stored. It is held in memory first.
   *
   * @throws AuthError `storage_error` when the store refuses the write (the record stays in memory).
   */
  write(record: SessionRecord): Promise<void>
  /** Writes `next` if the store (or this tab's unpersisted record) still holds `expected`. */
  commit(next: SessionRecord, expected: SessionRecord): Promise<CommitResult>
  /**
   * Deletes the session — only the sign-in `generation` names, when given — in the store and in
   * memory; `reason` is remembered for {@link endReason}.
   *
   * @throws AuthError `storage_error` when the store refuses the delete.
   */
  remove(generation?: string, reason?: SignedOutReason): Promise<void>
  /** Why the sign-in `generation` names ended, when it was ended through this store: a late caller hears the cause. */
  endReason(generation: string): SignedOutReason | undefined
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
  /** The reasons of the last few ends, by generation. */
  const ends = new Map<string, SignedOutReason>()

  /** What the store holds, with a record this tab could not persist standing for an older revision of it. */
  function current(stored: StoredSession): SessionRecord | undefined {
    const record = stored.kind === 'record' ? stored.record : undefined
    const newer =
      pending !== undefined && pending.generation === record?.generation && pending.revision > record.revision
    return newer ? pending : record
  }

  /** Retries a pending write when the store holds an older revision of the same sign-in. */
  async function reconcile(stored: StoredSession): Promise<StoredSession> {
    if (pending === undefined) return stored
    const record = stored.kind === 'record' ? stored.record : undefined
    if (record === undefined || record.generation !== pending.generation) {
      // Deleted (a sign-out) or replaced (a new sign-in) since: the store wins, never resurrect.
      // A sign-in the store never took stays in memory.
      if (record !== undefined || persistedGeneration === pending.generation) pending = undefined
      return pending ? { kind: 'record', record: pending, migrated: false } : stored
    }
    if (record.revision >= pending.revision) {
      pending = undefined
      return stored
    }
    const retried = pending
    // The store holds an older revision of it: `current()` stands `retried` in for it, so this writes it.
    await commit(retried, retried)
    return { kind: 'record', record: retried, migrated: false }
  }

  /** Writes a carried-over 0.1 record back, unless another tab changed the value meanwhile. */
  async function migrate(value: unknown, stored: StoredSession): Promise<StoredSession> {
    if (stored.kind !== 'record' || !stored.migrated) return stored
    let written: unknown = value
    await store
      .update<unknown>(key, (now) => (written = sameLegacy(now, value) ? stored.record : now))
      .catch(() => (written = value))
    return written === stored.record ? stored : readRecord(written, newGeneration)
  }

  async function commit(next: SessionRecord, expected: SessionRecord): Promise<CommitResult> {
    let verdict = 'stale' as 'committed' | 'stale'
    try {
      await store.update<unknown>(key, (value) => {
        const held = current(readRecord(value, newGeneration))
        verdict = sameRevision(held, expected) ? 'committed' : 'stale'
        return verdict === 'committed' ? next : value
      })
    } catch (cause) {
      // The store failed: this tab's memory decides, and keeps the record until the store takes it.
      if (!sameRevision(pending ?? known, expected)) return { kind: 'stale' }
      pending = known = next
      return { kind: 'unpersisted', error: unsaved(cause) }
    }
    if (verdict === 'committed') {
      known = next
      persistedGeneration = next.generation
      if (pending?.generation === next.generation && pending.revision <= next.revision) pending = undefined
    }
    return { kind: verdict }
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
      const parsed = await migrate(value, readRecord(value, newGeneration))
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
        throw unsaved(cause)
      }
      persistedGeneration = record.generation
      if (pending === record) pending = undefined
    },
    commit,
    async remove(generation, reason) {
      const ours = (record: SessionRecord | undefined) => generation === undefined || record?.generation === generation
      if (ours(pending ?? known)) pending = known = undefined
      let removed: string | undefined
      try {
        await store.update<unknown>(key, (value) => {
          if (generation === undefined) return undefined
          const held = current(readRecord(value, newGeneration))
          removed = held !== undefined && ours(held) ? held.generation : undefined
          return removed === undefined ? value : undefined
        })
      } catch (cause) {
        throw new AuthError(
          'storage_error',
          'The stored session could not be deleted; it may come back when the page reloads. Clear the site data to be sure.',
          { cause },
        )
      }
      if (generation !== undefined && removed !== undefined && reason !== undefined) {
        ends.set(removed, reason)
        if (ends.size > 8) ends.delete(ends.keys().next().value!)
      }
    },
    endReason: (generation) => ends.get(generation),
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

function unsaved(cause: unknown): AuthError {
  return new AuthError(
    'storage_error',
    'The session could not be saved (storage is full or blocked); it is kept in memory for this tab and saved again later.',
    { cause },
  )
}

/** Whether `now` is still the 0.1 record `read` was: no tab has migrated or changed it since. */
function sameLegacy(now: unknown, read: unknown): boolean {
  const legacyTokens = (value: unknown) =>
    typeof value === 'object' && value !== null && !('v' in value)
      ? (value as { tokens?: { accessToken?: unknown; refreshToken?: unknown } }).tokens
      : undefined
  const [a, b] = [legacyTokens(now), legacyTokens(read)]
  return a !== undefined && b !== undefined && a.accessToken === b.accessToken && a.refreshToken === b.refreshToken
}

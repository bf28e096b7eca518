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
export class RecordStore {
  readonly #store: KeyValueStore
  readonly #key: string
  /** Names sessions carried over from the 0.1 format. */
  readonly #newGeneration: () => string
  /** A newer record than the store holds, which the store refused. */
  #pending: SessionRecord | undefined
  #known: SessionRecord | undefined
  /** The sign-in whose record the store has held: once it is gone from there, it was ended. */
  #persistedGeneration: string | undefined
  /** The reasons of the last few ends, by generation. */
  readonly #ends = new Map<string, SignedOutReason>()

  constructor(store: KeyValueStore, key: string, newGeneration: () => string) {
    this.#store = store
    this.#key = key
    this.#newGeneration = newGeneration
  }

  /** The record waiting to be persisted, if any. */
  get unpersisted(): SessionRecord | undefined {
    return this.#pending
  }

  /**
   * The stored session, or the newer revision of it this tab could not persist yet. A record of
   * the 0.1 format is carried over and written back at once, so it keeps one identity for every
   * tab. When the store cannot be read, the last record this tab knows stands in for it.
   *
   * @throws AuthError `storage_error` when the store fails and this tab knows no record.
   */
  async read(): Promise<StoredSession> {
    let value: unknown
    try {
      value = await this.#store.get(this.#key)
    } catch (cause) {
      const fallback = this.#pending ?? this.#known
      if (fallback) return { kind: 'record', record: fallback, migrated: false }
      throw new AuthError('storage_error', 'The stored session could not be read; sign in again.', { cause })
    }
    const parsed = await this.#migrate(value, this.#parse(value))
    if (parsed.kind === 'record') this.#persistedGeneration = parsed.record.generation
    const stored = await this.#reconcile(parsed)
    this.#known = stored.kind === 'record' ? stored.record : undefined
    return stored
  }

  /**
   * Writes the record of a new sign-in, over whatever is stored. It is held in memory first.
   *
   * @throws AuthError `storage_error` when the store refuses the write (the record stays in memory).
   */
  async write(record: SessionRecord): Promise<void> {
    this.#pending = this.#known = record
    try {
      await this.#store.set(this.#key, record)
    } catch (cause) {
      throw unsaved(cause)
    }
    this.#persistedGeneration = record.generation
    if (this.#pending === record) this.#pending = undefined
  }

  /** Writes `next` if the store (or this tab's unpersisted record) still holds `expected`. */
  async commit(next: SessionRecord, expected: SessionRecord): Promise<CommitResult> {
    let verdict = 'stale' as 'committed' | 'stale'
    try {
      await this.#store.update<unknown>(this.#key, (value) => {
        verdict = sameRevision(this.#current(this.#parse(value)), expected) ? 'committed' : 'stale'
        return verdict === 'committed' ? next : value
      })
    } catch (cause) {
      // The store failed: this tab's memory decides, and keeps the record until the store takes it.
      if (!sameRevision(this.#pending ?? this.#known, expected)) return { kind: 'stale' }
      this.#pending = this.#known = next
      return { kind: 'unpersisted', error: unsaved(cause) }
    }
    if (verdict === 'committed') {
      this.#known = next
      this.#persistedGeneration = next.generation
      const pending = this.#pending
      if (pending?.generation === next.generation && pending.revision <= next.revision) this.#pending = undefined
    }
    return { kind: verdict }
  }

  /**
   * Deletes the session — only the sign-in `generation` names, when given — in the store and in
   * memory; `reason` is remembered for {@link endReason}.
   *
   * @throws AuthError `storage_error` when the store refuses the delete.
   */
  async remove(generation?: string, reason?: SignedOutReason): Promise<void> {
    const ours = (record: SessionRecord | undefined) => generation === undefined || record?.generation === generation
    if (ours(this.#pending ?? this.#known)) this.#pending = this.#known = undefined
    let removed: string | undefined
    try {
      await this.#store.update<unknown>(this.#key, (value) => {
        if (generation === undefined) return undefined
        const held = this.#current(this.#parse(value))
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
    if (removed !== undefined && reason !== undefined) {
      this.#ends.set(removed, reason)
      if (this.#ends.size > 8) this.#ends.delete(this.#ends.keys().next().value!)
    }
  }

  /** Why the sign-in `generation` names ended, when it was ended through this store: a late caller hears the cause. */
  endReason(generation: string): SignedOutReason | undefined {
    return this.#ends.get(generation)
  }

  /** Takes a record another tab could not persist (it arrives over the channel), if it is newer than ours. */
  accept(record: SessionRecord): void {
    const mine = this.#pending ?? this.#known
    if (mine === undefined || mine.generation !== record.generation || mine.revision < record.revision) {
      this.#pending = this.#known = record
    }
  }

  #parse(value: unknown): StoredSession {
    return readRecord(value, this.#newGeneration)
  }

  /** What the store holds, with a record this tab could not persist standing for an older revision of it. */
  #current(stored: StoredSession): SessionRecord | undefined {
    const record = stored.kind === 'record' ? stored.record : undefined
    const pending = this.#pending
    const newer =
      pending !== undefined && pending.generation === record?.generation && pending.revision > record.revision
    return newer ? pending : record
  }

  /** Retries a pending write when the store holds an older revision of the same sign-in. */
  async #reconcile(stored: StoredSession): Promise<StoredSession> {
    const pending = this.#pending
    if (pending === undefined) return stored
    const record = stored.kind === 'record' ? stored.record : undefined
    if (record === undefined || record.generation !== pending.generation) {
      // Deleted (a sign-out) or replaced (a new sign-in) since: the store wins, never resurrect.
      // A sign-in the store never took stays in memory.
      if (record !== undefined || this.#persistedGeneration === pending.generation) this.#pending = undefined
      return this.#pending ? { kind: 'record', record: pending, migrated: false } : stored
    }
    if (record.revision >= pending.revision) {
      this.#pending = undefined
      return stored
    }
    // The store holds an older revision of it: `#current()` stands `pending` in for it, so this writes it.
    await this.commit(pending, pending)
    return { kind: 'record', record: pending, migrated: false }
  }

  /** Writes a carried-over 0.1 record back, unless another tab changed the value meanwhile. */
  async #migrate(value: unknown, stored: StoredSession): Promise<StoredSession> {
    if (stored.kind !== 'record' || !stored.migrated) return stored
    let written: unknown = value
    await this.#store
      .update<unknown>(this.#key, (now) => (written = sameLegacy(now, value) ? stored.record : now))
      .catch(() => (written = value))
    return written === stored.record ? stored : this.#parse(written)
  }
}

/** The record of `key` in `store`; `newGeneration` names sessions carried over from the 0.1 format. */
export function createRecordStore(store: KeyValueStore, key: string, newGeneration: () => string): RecordStore {
  return new RecordStore(store, key, newGeneration)
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

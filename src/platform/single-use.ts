import type { KeyValueStore } from './storage.js'

/** A record that may be taken once, within its lifetime. */
interface Entry<T> {
  value: T
  createdAt: number
  expiresAt: number
}

/** What stays behind a taken record, so a second take can say "already used" instead of "unknown". */
interface Tombstone {
  takenAt: number
  expiresAt: number
}

/** The outcome of {@link takeSingleUse}. */
export type TakeResult<T> =
  | { outcome: 'taken'; value: T }
  | { outcome: 'already-taken' }
  | { outcome: 'expired' }
  /** No such record; `othersPending` counts the live records under the same prefix. */
  | { outcome: 'missing'; othersPending: number }

/** Stores `value` under `prefix + id` for `lifetimeMs`, and drops records of the prefix that ended more than a day ago. */
export async function putSingleUse(
  store: KeyValueStore,
  prefix: string,
  id: string,
  value: unknown,
  now: number,
  lifetimeMs: number,
): Promise<void> {
  await sweep(store, prefix, now)
  await store.set(prefix + id, { value, createdAt: now, expiresAt: now + lifetimeMs } satisfies Entry<unknown>)
}

/** The live record under `prefix + id`, left in place; `undefined` when there is none (or only a tombstone). */
export async function peekSingleUse<T>(store: KeyValueStore, prefix: string, id: string): Promise<T | undefined> {
  const entry = await store.get<Entry<T> | Tombstone>(prefix + id)
  return entry !== undefined && 'value' in entry ? entry.value : undefined
}

/**
 * Takes the record under `prefix + id` exactly once, even when several tabs race for it: the
 * record is swapped for a tombstone in one atomic store step, and only the caller that saw the
 * record gets it.
 */
export async function takeSingleUse<T>(
  store: KeyValueStore,
  prefix: string,
  id: string,
  now: number,
): Promise<TakeResult<T>> {
  const key = prefix + id
  let previous: Entry<T> | Tombstone | undefined
  await store.update<Entry<T> | Tombstone>(key, (current) => {
    previous = current
    if (current === undefined || 'takenAt' in current) return current
    return { takenAt: now, expiresAt: now + 600_000 } satisfies Tombstone
  })
  if (previous !== undefined && 'takenAt' in previous) return { outcome: 'already-taken' }
  if (previous === undefined) {
    const othersPending = (await liveEntries(store, prefix, now)).length
    return { outcome: 'missing', othersPending }
  }
  return previous.expiresAt <= now ? { outcome: 'expired' } : { outcome: 'taken', value: previous.value }
}

async function liveEntries(store: KeyValueStore, prefix: string, now: number): Promise<string[]> {
  const live: string[] = []
  for (const key of await store.keys()) {
    if (!key.startsWith(prefix)) continue
    const entry = await store.get<Entry<unknown> | Tombstone>(key)
    if (entry !== undefined && !('takenAt' in entry) && entry.expiresAt > now) live.push(key)
  }
  return live
}

/**
 * Expired records and tombstones are kept a day longer, so a late callback still hears
 * "expired" or "already used" rather than a misleading "unknown".
 */
const GRACE_MS = 24 * 60 * 60_000

async function sweep(store: KeyValueStore, prefix: string, now: number): Promise<void> {
  for (const key of await store.keys()) {
    if (!key.startsWith(prefix)) continue
    const entry = await store.get<{ expiresAt?: number }>(key)
    if (entry === undefined || typeof entry.expiresAt !== 'number' || entry.expiresAt + GRACE_MS <= now)
      await store.del(key)
  }
}

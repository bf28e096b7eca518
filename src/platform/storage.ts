import { createStore, del, get, keys, promisifyRequest, set, type UseStore } from 'idb-keyval'

/**
 * Where the library keeps sessions, sign-in transactions, discovery documents and keys.
 * Values are structured-cloneable. Implement it to keep the session elsewhere (the contract tests
 * in `test/platform/storage.test.ts` show what every adapter must do).
 */
export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>
  set(key: string, value: unknown): Promise<void>
  del(key: string): Promise<void>
  /**
   * Replaces the value of `key` with what `updater` returns for the current one (`undefined`
   * deletes it), as one atomic step across tabs: no other write to the store can come between the
   * read and the write. `updater` is synchronous and may run more than once; it must not throw.
   */
  update<T>(key: string, updater: (current: T | undefined) => T | undefined): Promise<void>
  keys(): Promise<string[]>
}

/** Which store a client ended up with: `memory` when IndexedDB is blocked or missing. */
export type StorageKind = 'indexeddb' | 'memory' | 'custom'

/** A store that lives as long as the page (or the test). */
export function createMemoryStore(): KeyValueStore {
  const map = new Map<string, unknown>()
  const copyOf = <T>(key: string) => (map.has(key) ? (structuredClone(map.get(key)) as T) : undefined)
  const write = (key: string, value: unknown) => (value === undefined ? map.delete(key) : map.set(key, value))
  return {
    get: async (key) => copyOf(key),
    set: async (key, value) => void map.set(key, structuredClone(value)),
    del: async (key) => void map.delete(key),
    update: async (key, updater) => void write(key, structuredClone(updater(copyOf(key)))),
    keys: async () => [...map.keys()],
  }
}

/** The library's own IndexedDB database (`spa-auth`, object store `kv`), never idb-keyval's shared one. */
export function createIndexedDbStore(store: UseStore = createStore('spa-auth', 'kv')): KeyValueStore {
  return {
    get: (key) => get(key, store),
    set: (key, value) => set(key, value, store),
    del: (key) => del(key, store),
    update: (key, updater) =>
      // One readwrite transaction: IndexedDB runs transactions on the same store one at a time,
      // across tabs and workers, so two commits cannot both see the old value.
      store('readwrite', (objects) => {
        const read = objects.get(key)
        read.onsuccess = () => {
          const next = updater(read.result as Parameters<typeof updater>[0])
          if (next === undefined) objects.delete(key)
          else objects.put(next, key)
        }
        return promisifyRequest(objects.transaction)
      }),
    keys: async () => (await keys(store)).map(String),
  }
}

/** A store whose every call waits for `opened`: usable before the database is open. */
export function deferredStore(opened: Promise<KeyValueStore>): KeyValueStore {
  return {
    get: async (key) => (await opened).get(key),
    set: async (key, value) => (await opened).set(key, value),
    del: async (key) => (await opened).del(key),
    update: async (key, updater) => (await opened).update(key, updater),
    keys: async () => (await opened).keys(),
  }
}

/**
 * Opens IndexedDB, or falls back to memory when the browser blocks it (some private modes,
 * storage disabled by policy) so the page keeps working for the life of the tab.
 */
export async function openDefaultStore(): Promise<{ store: KeyValueStore; kind: StorageKind }> {
  if (typeof indexedDB === 'undefined') return { store: createMemoryStore(), kind: 'memory' }
  try {
    const database = createStore('spa-auth', 'kv')
    // Opens the database, reading nothing: the page's one read on a reload is the session's own.
    await database('readonly', () => undefined)
    return { store: createIndexedDbStore(database), kind: 'indexeddb' }
  } catch {
    return { store: createMemoryStore(), kind: 'memory' }
  }
}

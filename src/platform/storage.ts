import { createStore, del, get, keys, set, update, type UseStore } from 'idb-keyval'

/**
 * Where the library keeps sessions, sign-in transactions, discovery documents and keys.
 * Values are structured-cloneable. Implement it to keep the session elsewhere (the contract tests
 * in `test/storage.test.ts` show what every adapter must do).
 */
export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>
  set(key: string, value: unknown): Promise<void>
  del(key: string): Promise<void>
  /** Writes `value` and resolves the value it replaced, as one atomic step across tabs. */
  replace<T>(key: string, value: unknown): Promise<T | undefined>
  keys(): Promise<string[]>
}

/** Which store a client ended up with: `memory` when IndexedDB is blocked or missing. */
export type StorageKind = 'indexeddb' | 'memory' | 'custom'

/** A store that lives as long as the page (or the test). */
export function createMemoryStore(): KeyValueStore {
  const map = new Map<string, unknown>()
  return {
    get: async <T>(key: string) => (map.has(key) ? (structuredClone(map.get(key)) as T) : undefined),
    set: async (key, value) => void map.set(key, structuredClone(value)),
    del: async (key) => void map.delete(key),
    replace: async <T>(key: string, value: unknown) => {
      const previous = map.get(key) as T | undefined
      map.set(key, structuredClone(value))
      return previous
    },
    keys: async () => [...map.keys()],
  }
}

/** The library's own IndexedDB database (`spa-auth`, object store `kv`), never idb-keyval's shared one. */
export function createIndexedDbStore(store: UseStore = createStore('spa-auth', 'kv')): KeyValueStore {
  return {
    get: (key) => get(key, store),
    set: (key, value) => set(key, value, store),
    del: (key) => del(key, store),
    async replace<T>(key: string, value: unknown) {
      let previous: T | undefined
      // idb-keyval runs the updater inside one readwrite transaction, so two tabs cannot both
      // read the old value: exactly one of them takes it.
      await update<T>(
        key,
        (old) => {
          previous = old
          return value as T
        },
        store,
      )
      return previous
    },
    keys: async () => (await keys(store)).map(String),
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

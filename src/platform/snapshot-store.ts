/**
 * An immutable snapshot with `subscribe(listener) → unsubscribe`, the shape React's
 * `useSyncExternalStore` and Vue's `shallowRef` consume directly.
 */
export interface SnapshotStore<T> {
  get(): T
  /** Replaces the snapshot and notifies every listener, unless `next` is the current one. */
  set(next: T): void
  subscribe(listener: () => void): () => void
}

/** Creates a {@link SnapshotStore} holding `initial`. A throwing listener does not stop the others. */
export function createSnapshotStore<T>(initial: T): SnapshotStore<T> {
  let current = initial
  const listeners = new Set<() => void>()
  return {
    get: () => current,
    set(next) {
      if (Object.is(next, current)) return
      current = next
      for (const listener of [...listeners]) {
        try {
          listener()
        } catch (error) {
          queueMicrotask(() => {
            throw error
          })
        }
      }
    },
    subscribe(listener) {
      const entry = () => listener()
      listeners.add(entry)
      return () => listeners.delete(entry)
    },
  }
}

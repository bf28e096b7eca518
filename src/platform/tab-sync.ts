import type { AuthEnvironment, TabChannel } from './environment.js'

/** Coordination between the tabs of one origin: a lock to run work alone, and a channel to announce it. */
export interface TabSync<M extends { type: string }> {
  /** A random id for this tab, carried in every message it sends. */
  readonly tabId: string
  /**
   * Runs `task` while holding the Web Lock `name`, so no other tab runs a task under the same name
   * at the same time. Without Web Locks it just runs `task` (single-tab behaviour).
   */
  withLock<T>(task: () => Promise<T>): Promise<T>
  /** Sends `message` to every other tab; a no-op without BroadcastChannel or once closed. */
  announce(message: M): void
  /**
   * Listens to the other tabs (opening the channel now, not before: a client that is created and
   * never used opens nothing). Returns a function that stops listening.
   */
  listen(listener: (message: M) => void): () => void
  /** Closes the channel for good: nothing is sent, heard or reopened afterwards. */
  close(): void
}

/** Opens the lock and channel named `name` through the environment, lazily. */
export function createTabSync<M extends { type: string }>(
  env: Pick<AuthEnvironment, 'locks' | 'openChannel'>,
  name: string,
): TabSync<M> {
  const tabId = Math.random().toString(36).slice(2, 10)
  let channel: TabChannel | undefined
  let closed = false
  const open = () => (closed ? undefined : (channel ??= env.openChannel(name)))
  return {
    tabId,
    withLock(task) {
      const locks = env.locks
      return locks ? locks.request(name, task) : task()
    },
    announce(message) {
      try {
        open()?.postMessage({ ...message, from: tabId })
      } catch {
        // A closed or unserializable channel must never break the session itself.
      }
    },
    listen(listener) {
      const stop = open()?.onMessage((data) => {
        const message = data as (M & { from?: unknown }) | undefined
        if (!closed && typeof message?.type === 'string' && message.from !== tabId) listener(message)
      })
      return stop ?? (() => {})
    },
    close() {
      closed = true
      channel?.close()
      channel = undefined
    },
  }
}

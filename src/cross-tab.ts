import type { AuthEnvironment } from './environment.js'

/** What one tab tells the others about a session. */
export type TabMessage =
  { type: 'session-updated'; from: string } | { type: 'signed-out'; from: string; reason: string }

/** Coordination between the tabs of one origin: a lock to run work alone, and a channel to announce it. */
export interface TabSync {
  /** A random id for this tab, carried in every message it sends. */
  readonly tabId: string
  /**
   * Runs `task` while holding the Web Lock `name`, so no other tab runs a task under the same name
   * at the same time. Without Web Locks it just runs `task` (single-tab behaviour).
   */
  withLock<T>(task: () => Promise<T>): Promise<T>
  /** Sends `message` to every other tab; a no-op without BroadcastChannel. */
  announce(message: TabMessage): void
  /** Listens to the other tabs; returns a function that stops listening. */
  listen(listener: (message: TabMessage) => void): () => void
  close(): void
}

/** Opens the lock and channel named `name` through the environment. */
export function createTabSync(env: Pick<AuthEnvironment, 'locks' | 'openChannel'>, name: string): TabSync {
  const tabId = Math.random().toString(36).slice(2, 10)
  let channel: ReturnType<AuthEnvironment['openChannel']> | null = null
  const open = () => (channel ??= env.openChannel(name))
  return {
    tabId,
    withLock(task) {
      const locks = env.locks
      return locks ? locks.request(name, task) : task()
    },
    announce(message) {
      try {
        open()?.postMessage(message)
      } catch {
        // A closed or unserializable channel must never break the session itself.
      }
    },
    listen(listener) {
      return (
        open()?.onMessage((data) => {
          const message = data as TabMessage | undefined
          if (message && typeof message.type === 'string' && message.from !== tabId) listener(message)
        }) ?? (() => {})
      )
    },
    close() {
      channel?.close()
      channel = null
    },
  }
}

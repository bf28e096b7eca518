import type { AuthEnvironment, LockManagerLike, TabChannel } from '../../src/index.js'
import { flushEventLoop } from './fake-clock.js'

/**
 * One browser, in process: the Web Locks, BroadcastChannels and wake events that several clients
 * (tabs) of the same origin share. Hand each client `environment()`.
 */
export interface FakeTabs {
  /** `navigator.locks`: callbacks under one name run strictly one after another, first come first served. */
  readonly locks: LockManagerLike
  /** `new BroadcastChannel(name)`: a message reaches every other open channel of that name, later, as a copy. */
  openChannel(name: string): TabChannel
  /** Registers a wake listener (visible, online, focus, pageshow); returns a cleanup. */
  onWake(listener: () => void): () => void
  /** The page became visible again: calls every wake listener. */
  wake(): void
  /** The parts of `AuthEnvironment` this browser provides. */
  environment(): Pick<AuthEnvironment, 'locks' | 'openChannel' | 'onWake'>
  /** How many lock requests were made under `name`. */
  lockRequests(name?: string): number
  /** How many lock requests wait for a lock another callback holds (requested, not yet granted). */
  waiting(): number
  /** How many wake listeners are registered. */
  wakeListeners(): number
  /**
   * Resolves once nothing is held or waiting in any lock and no message is on its way, after
   * letting the event loop turn, so the work a lock holder started has finished.
   */
  idle(): Promise<void>
}

interface Member {
  closed: boolean
  listeners: Set<(message: unknown) => void>
}

/** Creates a {@link FakeTabs} browser with no tab open. */
export function createFakeTabs(): FakeTabs {
  const queues = new Map<string, Promise<void>>()
  const active = new Set<Promise<unknown>>()
  const requests: string[] = []
  const channels = new Map<string, Set<Member>>()
  const wakeListeners = new Set<() => void>()
  let deliveries = 0
  let waiting = 0

  const locks: LockManagerLike = {
    request<T>(name: string, callback: () => Promise<T>): Promise<T> {
      requests.push(name)
      waiting++
      const previous = queues.get(name) ?? Promise.resolve()
      // Granted once the previous holder under this name has finished, whatever its outcome.
      const result = previous.then(() => {
        waiting--
        return callback()
      })
      const released = result.then(
        () => {},
        () => {},
      )
      queues.set(name, released)
      active.add(released)
      void released.then(() => {
        active.delete(released)
        if (queues.get(name) === released) queues.delete(name)
      })
      return result
    },
  }

  function openChannel(name: string): TabChannel {
    let members = channels.get(name)
    if (members === undefined) channels.set(name, (members = new Set()))
    const self: Member = { closed: false, listeners: new Set() }
    members.add(self)
    return {
      postMessage(message) {
        if (self.closed) throw new DOMException('The channel is closed.', 'InvalidStateError')
        const data = structuredClone(message)
        for (const other of members) {
          if (other === self) continue
          deliveries++
          queueMicrotask(() => {
            deliveries--
            if (other.closed) return
            for (const listener of [...other.listeners]) listener(structuredClone(data))
          })
        }
      },
      onMessage(listener) {
        const entry = (message: unknown) => listener(message)
        self.listeners.add(entry)
        return () => void self.listeners.delete(entry)
      },
      close() {
        self.closed = true
        self.listeners.clear()
        members.delete(self)
      },
    }
  }

  function onWake(listener: () => void): () => void {
    const entry = () => listener()
    wakeListeners.add(entry)
    return () => void wakeListeners.delete(entry)
  }

  return {
    locks,
    openChannel,
    onWake,
    wake() {
      for (const listener of [...wakeListeners]) listener()
    },
    environment: () => ({ locks, openChannel, onWake }),
    lockRequests: (name) =>
      name === undefined ? requests.length : requests.filter((requested) => requested === name).length,
    wakeListeners: () => wakeListeners.size,
    waiting: () => waiting,
    async idle() {
      for (let round = 0; round < 1000; round++) {
        await flushEventLoop()
        if (active.size > 0) {
          await Promise.all([...active])
          continue
        }
        if (deliveries > 0) continue
        await flushEventLoop()
        if (active.size === 0 && deliveries === 0) return
      }
      throw new Error('the fake browser never became idle: a lock holder keeps starting new work')
    },
  }
}

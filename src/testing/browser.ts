/**
 * One browser, in memory: its clock, Web Locks (the `navigator.locks` request shape), BroadcastChannels,
 * wake events, and tabs whose navigations are recorded instead of performed, and which follow the
 * `signIn()` calls of their clients. Every client the test provider creates is a tab of the same
 * browser, so "another tab" is just another client.
 */
import type { AuthClient, LockManagerLike, TabChannel } from '../index.js'
import type { HostEnvironment } from '../platform/environment.js'

/** The provider's `fetch`, resolving relative URLs against `base` (the tab's address). */
export type BrowserFetch = (input: RequestInfo | URL, init: RequestInit | undefined, base: string) => Promise<Response>

/** One tab: its address bar, and the environment of the clients in it. */
export interface Tab {
  /** The address bar; `replaceUrl` changes it, `navigate` does not (the page never leaves). */
  url: string
  /** The environment a client in this tab runs in. `setTimeout`/`clearTimeout` stay the library's (the globals, read lazily). */
  readonly environment: Partial<HostEnvironment>
  /**
   * The `signIn()` calls in flight of the clients {@link followSignIns} follows in this tab: each
   * resolves, and leaves the set first, once its call settled (after the navigation it made, if any).
   */
  readonly signIns: Set<Promise<void>>
}

/**
 * Makes `tab` follow the `signIn()` calls of `client`, one of its clients. The library loads its
 * sign-in code with a dynamic import, which no lock, request or idle work shows: only the call
 * itself tells a sign-in on its way to the provider from none at all. The app still gets a promise
 * that settles as the call does, with nothing attached to it, so a failure it leaves unhandled
 * surfaces as it would without the kit.
 */
export function followSignIns(client: AuthClient, tab: Tab): void {
  const signIn = client.signIn
  client.signIn = async (options) => {
    let settle = () => {}
    const inFlight = new Promise<void>((resolve) => (settle = resolve))
    tab.signIns.add(inFlight)
    try {
      await signIn(options)
    } finally {
      tab.signIns.delete(inFlight)
      settle()
    }
  }
}

/**
 * The browser's clock: `Date.now()`, read at every call so fake timers move it, plus how far the test
 * moved the clock by hand (a laptop that slept).
 */
function createClock() {
  let offsetMs = 0
  return {
    now: () => Date.now() + offsetMs,
    advance(ms: number): void {
      if (!Number.isFinite(ms) || ms < 0)
        throw new RangeError('The clock only moves forward, by a finite number of ms.')
      offsetMs += ms
    },
  }
}

function createLocks() {
  const queues = new Map<string, Promise<void>>()
  const held = new Set<Promise<void>>()
  const locks: LockManagerLike = {
    request<T>(name: string, callback: () => Promise<T>): Promise<T> {
      // Granted once the previous holder of `name` is done, whatever its outcome: first come, first served.
      const result = (queues.get(name) ?? Promise.resolve()).then(() => callback())
      const released = result.then(
        () => {},
        () => {},
      )
      queues.set(name, released)
      held.add(released)
      void released.then(() => {
        held.delete(released)
        if (queues.get(name) === released) queues.delete(name)
      })
      return result
    },
  }
  return { locks, held }
}

function createChannels() {
  const members = new Map<string, Set<{ listeners: Set<(message: unknown) => void> }>>()
  let inTransit = 0
  function openChannel(name: string): TabChannel {
    const group = members.get(name) ?? new Set()
    members.set(name, group)
    const self = { listeners: new Set<(message: unknown) => void>() }
    group.add(self)
    return {
      postMessage(message) {
        if (!group.has(self)) throw new DOMException('The channel is closed.', 'InvalidStateError')
        const data = structuredClone(message)
        for (const other of group) {
          if (other === self) continue
          inTransit++
          // Delivered later and as a copy, like BroadcastChannel; a microtask, so fake timers cannot hold it.
          queueMicrotask(() => {
            inTransit--
            if (group.has(other)) for (const listener of [...other.listeners]) listener(structuredClone(data))
          })
        }
      },
      onMessage(listener) {
        const entry = (message: unknown) => listener(message)
        self.listeners.add(entry)
        return () => void self.listeners.delete(entry)
      },
      close() {
        group.delete(self)
        self.listeners.clear()
      },
    }
  }
  return { openChannel, inTransit: () => inTransit }
}

/** The navigations of every tab, oldest first, and a wait for the next one. */
function createNavigationLog() {
  const all: Array<{ tab: Tab; url: string }> = []
  const waiters = new Set<() => void>()
  return {
    all: all as ReadonlyArray<{ readonly tab: Tab; readonly url: string }>,
    record(tab: Tab, url: string): void {
      all.push({ tab, url })
      for (const resolve of waiters) resolve()
      waiters.clear()
    },
    /**
     * Resolves at the next navigation of any tab, or settles as `until` does if that comes first:
     * the waiter that lost is forgotten either way, so a caller waiting round after round leaves
     * none behind.
     */
    next(until: Promise<unknown>): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        const waiter = () => resolve()
        waiters.add(waiter)
        until.then(
          () => {
            waiters.delete(waiter)
            resolve()
          },
          (error: unknown) => {
            waiters.delete(waiter)
            reject(error)
          },
        )
      })
    },
  }
}

/** Creates a browser with no tab open, whose tabs reach the network through `fetch`. */
export function createBrowser(fetch: BrowserFetch) {
  const clock = createClock()
  const { locks, held } = createLocks()
  const channels = createChannels()
  const wakeListeners = new Set<() => void>()
  /** Work the clients started for idle time (loading their code): `idle()` waits for it. */
  const idleWork = new Set<Promise<unknown>>()
  const navigations = createNavigationLog()

  function onWake(listener: () => void): () => void {
    const entry = () => listener()
    wakeListeners.add(entry)
    return () => void wakeListeners.delete(entry)
  }

  function openTab(url: string): Tab {
    const tab: Tab = {
      url: new URL(url).href,
      environment: {
        now: clock.now,
        // Retry delays and refresh jitter take the middle of their range: the same in every run.
        random: () => 0.5,
        fetch: (input, init) => fetch(input, init, tab.url),
        locks,
        openChannel: channels.openChannel,
        onWake,
        // "Idle" is now, and the work is followed, so a test's idle() waits until the code is in.
        whenIdle(task) {
          const work = Promise.resolve()
            .then(task)
            .catch(() => {})
            .finally(() => idleWork.delete(work))
          idleWork.add(work)
        },
        currentUrl: () => tab.url,
        replaceUrl: (next) => void (tab.url = new URL(next, tab.url).href),
        navigate(next) {
          navigations.record(tab, new URL(next, tab.url).href)
        },
      },
      signIns: new Set(),
    }
    return tab
  }

  return {
    clock,
    openTab,
    /** Every navigation of every tab, oldest first: authorize and end-session redirects. */
    navigations: navigations.all,
    nextNavigation: navigations.next,
    /** The page became visible, came online or woke from sleep in every tab: runs every wake listener. */
    wake(): void {
      for (const listener of [...wakeListeners]) listener()
    },
    /** Work in progress: lock holders and waiters (unless `locks` is false) and messages not yet delivered. */
    busy(options: { locks: boolean }): Promise<unknown>[] {
      const work: Promise<unknown>[] = [...idleWork, ...(options.locks ? held : [])]
      if (channels.inTransit() > 0) work.push(Promise.resolve())
      return work
    },
  }
}

/** The in-memory browser. */
export type Browser = ReturnType<typeof createBrowser>

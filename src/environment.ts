/** A channel between the tabs of one origin: the `BroadcastChannel` shape the library needs. */
export interface TabChannel {
  postMessage(message: unknown): void
  /** Registers a listener; returns a function that removes it. */
  onMessage(listener: (message: unknown) => void): () => void
  close(): void
}

/** The `navigator.locks` shape the library needs (Web Locks API). */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>
}

/**
 * Everything the library reads from its host. Tests inject fakes; the defaults read the browser's
 * globals lazily, at call time, so fake timers and polyfills installed later still apply.
 * Times are epoch milliseconds everywhere.
 */
export interface AuthEnvironment {
  now(): number
  /** A number in [0, 1), like `Math.random()`: the jitter of refresh times and retry delays. */
  random(): number
  setTimeout(callback: () => void, delayMs: number): unknown
  clearTimeout(handle: unknown): void
  fetch: typeof fetch
  /** Web Locks, or `undefined` where the browser has none (the library then stays single-tab). */
  locks: LockManagerLike | undefined
  /** Opens a cross-tab channel, or returns `undefined` where `BroadcastChannel` is missing. */
  openChannel(name: string): TabChannel | undefined
  /** The current page address (used for the callback and for same-origin checks). */
  currentUrl(): string
  /** Replaces the address bar without a navigation (drops `code`/`state`/`iss` after a callback). */
  replaceUrl(url: string): void
  /** Leaves the page for `url` (authorize and end-session redirects). */
  navigate(url: string): void
  /**
   * Calls `listener` whenever the page may have slept: visible again, back online, focused,
   * restored from the back/forward cache. Returns a cleanup.
   */
  onWake(listener: () => void): () => void
}

/** The browser's environment, reading every global lazily. */
export function createBrowserEnvironment(): AuthEnvironment {
  return {
    now: () => Date.now(),
    random: () => Math.random(),
    setTimeout(callback, delayMs) {
      const handle = globalThis.setTimeout(callback, delayMs)
      // On a server or in a test runner, a planned refresh must not keep the process alive.
      ;(handle as { unref?: () => void }).unref?.()
      return handle
    },
    clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
    fetch: (input, init) => globalThis.fetch(input, init),
    get locks() {
      return globalThis.navigator?.locks as LockManagerLike | undefined
    },
    openChannel(name) {
      if (typeof BroadcastChannel !== 'function') return undefined
      const channel = new BroadcastChannel(name)
      // Node has BroadcastChannel too; an open one would keep a server or test process alive.
      ;(channel as { unref?: () => void }).unref?.()
      return {
        postMessage: (message) => channel.postMessage(message),
        onMessage(listener) {
          const handler = (event: MessageEvent) => listener(event.data)
          channel.addEventListener('message', handler)
          return () => channel.removeEventListener('message', handler)
        },
        close: () => channel.close(),
      }
    },
    currentUrl: () => globalThis.location.href,
    replaceUrl: (url) => globalThis.history.replaceState(globalThis.history.state, '', url),
    navigate: (url) => globalThis.location.assign(url),
    onWake(listener) {
      if (typeof window === 'undefined') return () => {}
      const onVisibility = () => {
        if (document.visibilityState === 'visible') listener()
      }
      document.addEventListener('visibilitychange', onVisibility)
      for (const type of ['online', 'focus', 'pageshow'] as const) window.addEventListener(type, listener)
      return () => {
        document.removeEventListener('visibilitychange', onVisibility)
        for (const type of ['online', 'focus', 'pageshow'] as const) window.removeEventListener(type, listener)
      }
    },
  }
}

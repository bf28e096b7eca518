import { sharedWorkersOutlivePages } from './shared-worker-lifetime.js'
import { pageUnloading, watchUnload } from './unload.js'

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
  /** Which locks are held now (optional: without it, a page does not look for a refresh in flight at load). */
  query?(): Promise<{ held?: Array<{ name?: string }> }>
}

/** A sign-in popup, as its opener sees it. */
export interface PopupWindow {
  /** True once closed, and, under Cross-Origin-Opener-Policy, as soon as the provider's page loads. */
  readonly closed: boolean
  navigate(url: string): void
  close(): void
}

/**
 * A connection to the refresh worker (a SharedWorker, or a service worker, that outlives the page):
 * requests out, answers in.
 */
export interface WorkerConnection {
  postMessage(message: unknown): void
  /** Registers a listener for the worker's answers; returns a function that removes it. */
  onMessage(listener: (message: unknown) => void): () => void
  /** Registers a listener for a worker that cannot run (its script failed to load, or it did not start in time). */
  onError(listener: () => void): () => void
  /** Leaves the worker (it goes on for the other pages, and finishes what it started). */
  close(): void
}

/** Where refreshes run: in a SharedWorker or a service worker that outlives the page, or in the page. */
export type RefreshPlace = 'worker' | 'service-worker' | 'page'

/** A service worker as a page sees it: the parts the refresh service worker's page side uses. */
export interface ServiceWorkerLike {
  /** `'installing'`, `'installed'`, `'activating'`, `'activated'` or `'redundant'`. */
  readonly state: string
  postMessage(message: unknown, transfer: Transferable[]): void
  addEventListener(type: 'statechange', listener: () => void): void
  removeEventListener(type: 'statechange', listener: () => void): void
}

/** A service worker registration: its newest worker is installing, waiting, or active. */
export interface ServiceWorkerRegistrationLike {
  readonly installing: ServiceWorkerLike | null
  readonly waiting: ServiceWorkerLike | null
  readonly active: ServiceWorkerLike | null
}

/** The part of `navigator.serviceWorker` the refresh service worker needs. */
export interface ServiceWorkerContainerLike {
  register(script: URL, options: RegistrationOptions): Promise<ServiceWorkerRegistrationLike>
}

/**
 * Everything the library reads from its host: tests and unusual hosts pass parts of it as the
 * `environment` option of `createAuthClient`. The defaults read the browser's globals lazily, at
 * call time, so fake timers and polyfills installed later still apply. Times are epoch
 * milliseconds everywhere.
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

/**
 * The host's plumbing beyond {@link AuthEnvironment}: windows, idle time and the refresh worker.
 * Not part of the public API (its shape follows the browser features the library adopts); the
 * library's own tests and the testing kit set parts of it through `environment`.
 *
 * @internal
 */
export interface HostEnvironment extends AuthEnvironment {
  /**
   * Opens an empty popup window now (it must happen in the task of the user's click), or returns
   * `undefined` when the browser blocked it. `features` as for `window.open`.
   */
  openPopup(features: string | undefined): PopupWindow | undefined
  /**
   * Calls `listener(false)` when this page loses the focus and `listener(true)` when it gets it
   * back; without it, the window's `blur` and `focus` events (the popup sign-in's code brings
   * that default). Returns a cleanup.
   */
  onFocusChange?(listener: (focused: boolean) => void): () => void
  /**
   * Whether this page is being unloaded (a reload, a navigation, a closed tab): a request that
   * fails now was cut off by the page itself, not by the network or the provider.
   */
  unloading(): boolean
  /** Closes this window: a sign-in popup, once its callback page reported to the opener. Without it, `window.close()`. */
  closeWindow?(): void
  /**
   * Whether this browser keeps a SharedWorker alive after its last page (`extendedLifetime`,
   * Chromium 148+), so refreshes can run in the refresh worker. Starts nothing.
   */
  refreshWorkerAvailable(): boolean
  /** Starts (or joins) the refresh worker and connects to it; without it, the SharedWorker the library ships. */
  openRefreshWorker?(): WorkerConnection | undefined
  /**
   * Where no SharedWorker outlives its pages, the service workers this page may register the
   * refresh service worker with: `navigator.serviceWorker` in a secure context (Firefox, Safari,
   * Chromium before 148), else `undefined` (an insecure origin, a policy or a private window without
   * service workers). Starts nothing.
   */
  refreshServiceWorkers(): ServiceWorkerContainerLike | undefined
  /**
   * Runs `task` when the page is idle (`requestIdleCallback`), or soon where there is no such
   * thing: loading code a page will need, off its critical path. `task` may return a promise of its
   * work (a host that waits for quiet, such as a test, can follow it).
   */
  whenIdle(task: () => unknown): void
}

/** What every host shares — the clock, timers, fetch, Web Locks, BroadcastChannel — reading the globals at call time. */
function commonEnvironment(): Omit<AuthEnvironment, 'currentUrl' | 'replaceUrl' | 'navigate' | 'onWake'> {
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
  }
}

/** The environment of a worker (the refresh worker): no page, no address bar, nothing to wake. */
export function createWorkerEnvironment(): AuthEnvironment {
  return {
    ...commonEnvironment(),
    currentUrl: () => globalThis.location.href,
    replaceUrl: () => {},
    navigate: () => {},
    onWake: () => () => {},
  }
}

/** The browser's environment, reading every global lazily. */
export function createBrowserEnvironment(): HostEnvironment {
  watchUnload()
  return {
    ...commonEnvironment(),
    currentUrl: () => globalThis.location.href,
    replaceUrl: (url) => globalThis.history.replaceState(globalThis.history.state, '', url),
    navigate: (url) => globalThis.location.assign(url),
    openPopup(features) {
      const popup = globalThis.open('', '_blank', features ?? centredPopup())
      if (popup === null) return undefined
      // The provider's pages get no handle on this one (reverse tabnabbing); we keep ours.
      popup.opener = null
      return {
        get closed() {
          return popup.closed
        },
        navigate: (url) => popup.location.replace(url),
        close: () => popup.close(),
      }
    },
    unloading: pageUnloading,
    refreshWorkerAvailable: () => typeof SharedWorker === 'function' && sharedWorkersOutlivePages(),
    refreshServiceWorkers: () =>
      globalThis.isSecureContext === true ? (globalThis.navigator?.serviceWorker ?? undefined) : undefined,
    whenIdle(task) {
      const run = () => void Promise.resolve(task()).catch(() => {})
      if (typeof globalThis.requestIdleCallback === 'function') globalThis.requestIdleCallback(run)
      else globalThis.setTimeout(run, 0)
    },
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

/**
 * Where this page's refreshes can outlive it, starting nothing: in a SharedWorker the browser keeps
 * alive after its last page (`'worker'`); else in a service worker (`'service-worker'`); else
 * nowhere (`'page'`).
 */
export function refreshPlace(
  env: Pick<HostEnvironment, 'refreshWorkerAvailable' | 'refreshServiceWorkers'>,
): RefreshPlace {
  if (env.refreshWorkerAvailable()) return 'worker'
  return env.refreshServiceWorkers() === undefined ? 'page' : 'service-worker'
}

/** A 500 × 640 popup centred on the current window. */
function centredPopup(): string {
  const width = 500
  const height = 640
  const left = Math.max(0, globalThis.screenX + (globalThis.outerWidth - width) / 2)
  const top = Math.max(0, globalThis.screenY + (globalThis.outerHeight - height) / 2)
  return `popup=yes,width=${width},height=${height},left=${Math.round(left)},top=${Math.round(top)}`
}

/** A random identifier (128 bits, hex); `getRandomValues` works in insecure contexts too, unlike `randomUUID`. */
export function randomId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

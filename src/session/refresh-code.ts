/**
 * The refresh's code — the transaction and the page's side of the refresh worker — behind the one
 * lazy seam, and when it loads: in idle time as soon as a refresh is planned, so a refresh never
 * waits for it; warmed up (the worker started, or the protocol loaded) shortly before the refresh
 * is due; tried again, later and later, after it failed to load.
 */
import type { HostEnvironment, RefreshPlace } from '../platform/environment.js'
import { lazy } from '../platform/lazy.js'
import type { Settlement } from './outcome.js'
import type { RefreshRequest } from './refresh.js'

/** Runs refresh transactions for one tab: in the refresh worker (a SharedWorker or a service worker), or in the page. */
export interface Refresher {
  /**
   * Runs one refresh and says what its outcome means for this tab (see `settle`); `own`: the
   * session's own token, not one API's.
   */
  run(request: RefreshRequest, own: boolean): Promise<Settlement>
  /** Where the next refresh runs. */
  readonly where: RefreshPlace
  /** Gets the next refresh ready: the worker started, or the protocol code loaded. */
  warm(): void
  /** Leaves the worker; pending runs reject with `disposed` and nothing more is sent. */
  dispose(): void
}

/** The refresh code is warmed up this long before a refresh is due (in idle time), never on a page load. */
const WARM_UP_LEAD_MS = 30_000
/** After the code failed to load: 5 s, 10 s, 20 s … up to 5 minutes before the next attempt. */
const RETRY_BASE_MS = 5_000
const RETRY_CAP_MS = 5 * 60_000

export interface RefreshCode {
  /** The refresher; loads the code when it is not there yet (rejects with `chunk_load_failed`). */
  get(): Promise<Refresher>
  readonly value: Refresher | undefined
  /** A refresh is planned at `at` (epoch ms): load the code now in idle time, warm it up before then. */
  planned(at: number): void
  /** How long to wait before the next attempt, after the code failed to load once more. */
  retryDelay(): number
  dispose(): void
}

export function createRefreshCode(
  load: () => Promise<Refresher>,
  env: Pick<HostEnvironment, 'now' | 'setTimeout' | 'clearTimeout' | 'whenIdle'>,
): RefreshCode {
  let failures = 0
  const code = lazy(() => load().then((refresher) => ((failures = 0), refresher)), 'the refresh code')
  let loadingInIdle = false
  let warmUp: unknown
  let disposed = false

  return {
    get: () => code.get(),
    get value() {
      return code.value
    },
    planned(at) {
      if (disposed) return
      if (code.value === undefined && !loadingInIdle) {
        loadingInIdle = true
        env.whenIdle(() => code.get().finally(() => (loadingInIdle = false)))
      }
      if (warmUp !== undefined) return
      warmUp = env.setTimeout(
        () => {
          warmUp = undefined
          if (!disposed) env.whenIdle(() => code.get().then((refresher) => refresher.warm()))
        },
        Math.max(0, at - env.now() - WARM_UP_LEAD_MS),
      )
    },
    retryDelay: () => Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** failures++),
    dispose() {
      disposed = true
      if (warmUp !== undefined) env.clearTimeout(warmUp)
      code.value?.dispose()
    },
  }
}

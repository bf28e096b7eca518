import type { AuthEnvironment } from './environment.js'

/** The longest delay `setTimeout` honours; longer ones fire at once in every browser. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

/** One pending call at a due time that survives sleeping tabs. */
export interface Scheduler {
  /** Calls `callback` once at `dueAt` (epoch ms), replacing whatever was scheduled. */
  schedule(dueAt: number, callback: () => void): void
  cancel(): void
  /** The pending due time, or `undefined`. */
  readonly dueAt: number | undefined
  dispose(): void
}

/**
 * Creates a {@link Scheduler} over the environment's clock and timers.
 *
 * Timers stall while a laptop sleeps and are throttled in background tabs, so the wall clock, not
 * the timer, decides: a timer that fires early re-arms itself, and every wake (visible, online,
 * focus, pageshow) compares `now()` with the due time and fires a call that is overdue.
 */
export function createScheduler(
  env: Pick<AuthEnvironment, 'now' | 'setTimeout' | 'clearTimeout' | 'onWake'>,
): Scheduler {
  let pending: { dueAt: number; callback: () => void } | undefined
  let timer: unknown

  function disarm(): void {
    if (timer !== undefined) env.clearTimeout(timer)
    timer = undefined
  }

  function check(): void {
    disarm()
    if (pending === undefined) return
    const delay = pending.dueAt - env.now()
    if (delay <= 0) {
      const { callback } = pending
      pending = undefined
      callback()
      return
    }
    timer = env.setTimeout(check, Math.min(delay, MAX_TIMER_DELAY_MS))
  }

  const stopWake = env.onWake(() => {
    if (pending !== undefined && env.now() >= pending.dueAt) check()
  })

  return {
    schedule(dueAt, callback) {
      pending = { dueAt, callback }
      check()
    },
    cancel() {
      pending = undefined
      disarm()
    },
    get dueAt() {
      return pending?.dueAt
    },
    dispose() {
      pending = undefined
      disarm()
      stopWake()
    },
  }
}

/**
 * A wall clock and timers that only move when a test says so, injected as
 * `environment: { now, setTimeout, clearTimeout }`.
 *
 * Unlike global fake timers it leaves Node's own timers alone, so real loopback HTTP to a test
 * provider keeps working while the library's clock is frozen or jumps ahead.
 */
export interface FakeClock {
  /** The fake wall clock, epoch ms. */
  now(): number
  setTimeout(callback: () => void, delayMs: number): unknown
  clearTimeout(handle: unknown): void
  /**
   * Moves the clock forward by `ms`, firing every timer that falls due on the way, in due order,
   * with the clock set to each timer's due time. Between two timers (and at the end) it waits for
   * `settle`, so the work a timer started (promises, I/O) finishes before the clock moves on.
   */
  advance(ms: number): Promise<void>
  /**
   * Moves the wall clock by `ms` without firing any timer: a laptop that slept, a throttled
   * background tab. Overdue timers fire on the next `advance` (a browser fires them late).
   */
  jump(ms: number): void
  /** How many timers are armed. */
  pending(): number
  /** Every delay `setTimeout` was called with, in order. */
  delays(): readonly number[]
}

export interface FakeClockOptions {
  /**
   * What `advance` waits for after each timer it fires. Default: a few turns of the event loop
   * (`setImmediate`), enough for promise chains and in-memory work.
   */
  settle?: () => Promise<void>
}

/** A few turns of the event loop: microtasks, then the I/O and check phases, several times. */
export async function flushEventLoop(turns = 5): Promise<void> {
  for (let turn = 0; turn < turns; turn++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/** Waits until `condition` holds, turning the event loop; the bound (5 s) is for a broken library only. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const giveUpAt = Date.now() + 5_000
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error(`never happened: ${what}`)
    await flushEventLoop()
  }
}

interface Timer {
  id: number
  dueAt: number
  callback: () => void
}

/** Creates a {@link FakeClock} reading `start` (epoch ms, default the real time now). */
export function createFakeClock(start = Date.now(), options: FakeClockOptions = {}): FakeClock {
  const settle = options.settle ?? (() => flushEventLoop())
  const timers = new Map<number, Timer>()
  const requested: number[] = []
  let current = start
  let nextId = 1

  /** The timer due first at or before `limit`; ties fire in the order they were set. */
  function firstDue(limit: number): Timer | undefined {
    let first: Timer | undefined
    for (const timer of timers.values()) {
      if (timer.dueAt > limit) continue
      if (first === undefined || timer.dueAt < first.dueAt || (timer.dueAt === first.dueAt && timer.id < first.id))
        first = timer
    }
    return first
  }

  return {
    now: () => current,
    setTimeout(callback, delayMs) {
      requested.push(delayMs)
      const id = nextId++
      const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0
      timers.set(id, { id, dueAt: current + delay, callback })
      return id
    },
    clearTimeout(handle) {
      if (typeof handle === 'number') timers.delete(handle)
    },
    async advance(ms) {
      const target = current + ms
      for (let timer = firstDue(target); timer !== undefined; timer = firstDue(target)) {
        timers.delete(timer.id)
        current = Math.max(current, timer.dueAt)
        timer.callback()
        await settle()
      }
      current = Math.max(current, target)
      await settle()
    },
    jump(ms) {
      current += ms
    },
    pending: () => timers.size,
    delays: () => requested,
  }
}

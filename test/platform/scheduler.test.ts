// @vitest-environment node
import { describe, expect, it, vi } from 'vitest'
import { createScheduler, MAX_TIMER_DELAY_MS } from '../../src/platform/scheduler.js'
import { createFakeClock } from '../support/fake-clock.js'
import { createFakeTabs } from '../support/fake-tabs.js'

const MINUTE = 60_000
const DAY = 24 * 60 * MINUTE

function setup() {
  const clock = createFakeClock()
  const browser = createFakeTabs()
  const scheduler = createScheduler({
    now: clock.now,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    onWake: browser.onWake,
  })
  return { clock, browser, scheduler, callback: vi.fn() }
}

describe('createScheduler', () => {
  it('calls at the due time and not a millisecond before', async () => {
    const { clock, scheduler, callback } = setup()
    scheduler.schedule(clock.now() + MINUTE, callback)
    expect(scheduler.dueAt).toBe(clock.now() + MINUTE)

    await clock.advance(MINUTE - 1)
    expect(callback).not.toHaveBeenCalled()
    await clock.advance(1)
    expect(callback).toHaveBeenCalledTimes(1)
    expect(scheduler.dueAt).toBeUndefined()
    expect(clock.pending()).toBe(0)

    await clock.advance(10 * MINUTE)
    expect(callback).toHaveBeenCalledTimes(1)
  })

  it('calls at once when the due time is already past', () => {
    const { clock, scheduler, callback } = setup()
    scheduler.schedule(clock.now() - 5_000, callback)
    expect(callback).toHaveBeenCalledTimes(1)
    expect(clock.pending()).toBe(0)
  })

  it('clamps a delay beyond 2^31−1 ms and re-arms, calling only at the real due time', async () => {
    const { clock, scheduler, callback } = setup()
    const delay = 60 * DAY
    const dueAt = clock.now() + delay
    scheduler.schedule(dueAt, callback)
    expect(MAX_TIMER_DELAY_MS).toBe(2_147_483_647)
    expect(clock.delays()).toEqual([MAX_TIMER_DELAY_MS])

    await clock.advance(MAX_TIMER_DELAY_MS)
    expect(callback).not.toHaveBeenCalled()
    expect(clock.pending()).toBe(1)
    await clock.advance(MAX_TIMER_DELAY_MS)
    expect(callback).not.toHaveBeenCalled()

    await clock.advance(dueAt - clock.now() - 1)
    expect(callback).not.toHaveBeenCalled()
    await clock.advance(1)
    expect(callback).toHaveBeenCalledTimes(1)
    expect(clock.now()).toBe(dueAt)
    for (const requested of clock.delays()) expect(requested).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS)
    expect(clock.delays()).toEqual([MAX_TIMER_DELAY_MS, MAX_TIMER_DELAY_MS, delay - 2 * MAX_TIMER_DELAY_MS])
  })

  it('on waking past the due time while the timers slept, calls the overdue call at once and only once', async () => {
    const { clock, browser, scheduler, callback } = setup()
    scheduler.schedule(clock.now() + MINUTE, callback)

    clock.jump(10 * MINUTE)
    expect(callback).not.toHaveBeenCalled()
    browser.wake()
    expect(callback).toHaveBeenCalledTimes(1)
    expect(scheduler.dueAt).toBeUndefined()

    // The stalled timer was disarmed: it does not call a second time when it finally runs.
    expect(clock.pending()).toBe(0)
    await clock.advance(0)
    browser.wake()
    expect(callback).toHaveBeenCalledTimes(1)
  })

  it('does nothing on a wake before the due time', async () => {
    const { clock, browser, scheduler, callback } = setup()
    const dueAt = clock.now() + MINUTE
    scheduler.schedule(dueAt, callback)

    clock.jump(MINUTE / 2)
    browser.wake()
    expect(callback).not.toHaveBeenCalled()
    expect(scheduler.dueAt).toBe(dueAt)

    await clock.advance(MINUTE / 2 - 1)
    expect(callback).not.toHaveBeenCalled()
    await clock.advance(1)
    expect(callback).toHaveBeenCalledTimes(1)
  })

  it('replaces the pending call when scheduling again', async () => {
    const { clock, scheduler } = setup()
    const first = vi.fn()
    const second = vi.fn()
    scheduler.schedule(clock.now() + MINUTE, first)
    scheduler.schedule(clock.now() + 2 * MINUTE, second)
    expect(clock.pending()).toBe(1)
    expect(scheduler.dueAt).toBe(clock.now() + 2 * MINUTE)

    await clock.advance(3 * MINUTE)
    expect(first).not.toHaveBeenCalled()
    expect(second).toHaveBeenCalledTimes(1)
  })

  it('replaces a later call with an earlier one', async () => {
    const { clock, scheduler } = setup()
    const later = vi.fn()
    const sooner = vi.fn()
    scheduler.schedule(clock.now() + 2 * MINUTE, later)
    scheduler.schedule(clock.now() + MINUTE, sooner)

    await clock.advance(MINUTE)
    expect(sooner).toHaveBeenCalledTimes(1)
    await clock.advance(5 * MINUTE)
    expect(later).not.toHaveBeenCalled()
  })

  it('never calls after cancel, not even on a wake past the due time', async () => {
    const { clock, browser, scheduler, callback } = setup()
    scheduler.schedule(clock.now() + MINUTE, callback)
    scheduler.cancel()
    expect(scheduler.dueAt).toBeUndefined()
    expect(clock.pending()).toBe(0)

    await clock.advance(2 * MINUTE)
    clock.jump(MINUTE)
    browser.wake()
    expect(callback).not.toHaveBeenCalled()

    scheduler.schedule(clock.now() + MINUTE, callback)
    await clock.advance(MINUTE)
    expect(callback).toHaveBeenCalledTimes(1)
  })

  it('never calls after dispose, and stops listening to wakes', async () => {
    const { clock, browser, scheduler, callback } = setup()
    expect(browser.wakeListeners()).toBe(1)
    scheduler.schedule(clock.now() + MINUTE, callback)
    scheduler.dispose()
    expect(clock.pending()).toBe(0)
    expect(browser.wakeListeners()).toBe(0)

    clock.jump(2 * MINUTE)
    browser.wake()
    await clock.advance(MINUTE)
    expect(callback).not.toHaveBeenCalled()
  })
})

import { afterEach, describe, expect, it, vi } from 'vitest'
import { createSnapshotStore } from '../../src/platform/snapshot-store.js'

interface Snapshot {
  status: 'loading' | 'signed-in' | 'signed-out'
}

const loading: Snapshot = { status: 'loading' }
const signedIn: Snapshot = { status: 'signed-in' }

describe('createSnapshotStore', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('holds the initial snapshot', () => {
    expect(createSnapshotStore(loading).get()).toBe(loading)
  })

  it('replaces the snapshot and notifies every subscriber', () => {
    const state = createSnapshotStore(loading)
    const seen: Snapshot[] = []
    state.subscribe(() => seen.push(state.get()))
    state.subscribe(() => seen.push(state.get()))

    state.set(signedIn)

    expect(state.get()).toBe(signedIn)
    expect(seen).toEqual([signedIn, signedIn])
  })

  it('stops notifying a listener once it unsubscribes', () => {
    const state = createSnapshotStore(loading)
    const listener = vi.fn()
    const unsubscribe = state.subscribe(listener)

    state.set(signedIn)
    unsubscribe()
    state.set({ status: 'signed-out' })

    expect(listener).toHaveBeenCalledTimes(1)
  })

  it('counts a function subscribed twice as two subscriptions, each removed by its own unsubscribe', () => {
    const state = createSnapshotStore(loading)
    const listener = vi.fn()
    const unsubscribeFirst = state.subscribe(listener)
    state.subscribe(listener)

    unsubscribeFirst()
    state.set(signedIn)

    expect(listener).toHaveBeenCalledTimes(1)
  })

  it('does not notify when set to the snapshot it already holds', () => {
    const state = createSnapshotStore(loading)
    const listener = vi.fn()
    state.subscribe(listener)

    state.set(loading)

    expect(listener).not.toHaveBeenCalled()
  })

  it('notifies when set to an equal but different object, because snapshots are compared by identity', () => {
    const state = createSnapshotStore(loading)
    const listener = vi.fn()
    state.subscribe(listener)

    state.set({ status: 'loading' })

    expect(listener).toHaveBeenCalledTimes(1)
  })

  it('keeps notifying the other listeners when one throws, and rethrows its error asynchronously', () => {
    const deferred: Array<() => void> = []
    vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((callback) => void deferred.push(callback))
    const state = createSnapshotStore(loading)
    const failure = new Error('listener failed')
    const before = vi.fn()
    const after = vi.fn()
    state.subscribe(before)
    state.subscribe(() => {
      throw failure
    })
    state.subscribe(after)

    expect(() => state.set(signedIn)).not.toThrow()

    expect(before).toHaveBeenCalledTimes(1)
    expect(after).toHaveBeenCalledTimes(1)
    expect(state.get()).toBe(signedIn)
    expect(deferred).toHaveLength(1)
    expect(() => deferred[0]!()).toThrow(failure)
  })
})

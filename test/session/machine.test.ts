import { describe, expect, it } from 'vitest'
import { AuthError } from '../../src/platform/errors.js'
import {
  initialState,
  toSnapshot,
  transition,
  type SessionEvent,
  type SessionState,
} from '../../src/session/machine.js'
import { record, refreshed, T0 } from '../support/records.js'

const context = { leewaySeconds: 60, random: 0 }

/** Runs `events` from `state` and returns the final state and every effect, in order. */
function run(state: SessionState, ...events: SessionEvent[]) {
  const effects: ReturnType<typeof transition>['effects'] = []
  for (const event of events) {
    const next = transition(state, event, context)
    state = next.state
    effects.push(...next.effects)
  }
  return { state, effects }
}

const signedIn = run(initialState, { type: 'loaded', record: record(), storage: 'indexeddb' }).state
const failing = new AuthError('provider_unavailable', 'the provider answered 503')

describe('the session state machine', () => {
  it('starts loading and publishes signed-in with a refresh planned when a record loads', () => {
    expect(toSnapshot(initialState).status).toBe('loading')
    const { state, effects } = run(initialState, { type: 'loaded', record: record(), storage: 'indexeddb' })
    expect(toSnapshot(state)).toMatchObject({ status: 'signed-in', user: { sub: 'alice' }, storage: 'indexeddb' })
    expect(effects).toEqual([{ type: 'publish' }, { type: 'plan', at: T0 + 3_600_000 - 60_000, task: 'refresh' }])
  })

  it('loads an unreadable record as signed out with its reason and error, and plans nothing', () => {
    const error = new AuthError('session_unreadable', 'unreadable')
    const loaded: SessionEvent = {
      type: 'loaded',
      record: undefined,
      storage: 'indexeddb',
      reason: 'session-unreadable',
      error,
    }
    const { state, effects } = run(initialState, loaded)
    expect(toSnapshot(state)).toMatchObject({ status: 'signed-out', reason: 'session-unreadable', error })
    expect(effects).toEqual([{ type: 'publish' }, { type: 'unplan' }])
  })

  it('holds a refresh in flight as a phase the snapshot does not show, and ends it with the refresh', () => {
    const started = run(signedIn, { type: 'refresh-started' })
    expect(started.state).toMatchObject({ status: 'signed-in', phase: 'refreshing' })
    expect(started.effects).toEqual([])

    const next = refreshed(record(), 'at2', T0 + 1_000)
    const finished = run(started.state, { type: 'refresh-finished', record: next, error: null })
    expect(finished.state).toMatchObject({ status: 'signed-in', phase: 'idle', record: next })
    expect(finished.effects).toContainEqual({ type: 'plan', at: T0 + 1_000 + 3_600_000 - 60_000, task: 'refresh' })
  })

  it("keeps its refresh in flight when another tab's record arrives meanwhile", () => {
    const other = refreshed(record(), 'theirs')
    const { state } = run(signedIn, { type: 'refresh-started' }, { type: 'adopted', record: other })
    expect(state).toMatchObject({ status: 'signed-in', phase: 'refreshing', record: other })
  })

  it('shows a failed refresh that keeps the session as the error, with the shared retry time planned', () => {
    const kept = {
      ...record(),
      revision: 1,
      failure: { attempts: 1, retryAt: T0 + 5_000, code: 'provider_unavailable' as const, message: 'm', unanswered: 0 },
    }
    const { state, effects } = run(
      signedIn,
      { type: 'refresh-started' },
      { type: 'refresh-finished', record: kept, error: failing },
    )
    expect(toSnapshot(state)).toMatchObject({ status: 'signed-in', error: failing })
    expect(effects).toContainEqual({ type: 'plan', at: T0 + 5_000, task: 'refresh' })
  })

  it('reads as signed out from the moment a sign-out starts, and ignores every update until it ends', () => {
    const started = run(signedIn, { type: 'sign-out-started' })
    expect(toSnapshot(started.state)).toMatchObject({ status: 'signed-out', reason: 'signed-out' })
    expect(started.effects).toEqual([{ type: 'publish' }, { type: 'unplan' }])

    const late = run(
      started.state,
      { type: 'refresh-finished', record: refreshed(record(), 'late'), error: null },
      { type: 'adopted', record: refreshed(record(), 'late') },
      { type: 'sign-out-finished', error: null },
    )
    expect(toSnapshot(late.state)).toMatchObject({ status: 'signed-out', reason: 'signed-out' })
  })

  it('ignores late news of the sign-in that ended here, and takes a new sign-in from another tab', () => {
    const ended = run(signedIn, { type: 'ended', reason: 'refresh-rejected', error: null, generation: 'g1' }).state
    expect(run(ended, { type: 'adopted', record: refreshed(record(), 'late') }).state.status).toBe('signed-out')
    expect(run(ended, { type: 'adopted', record: record({ generation: 'g2' }) }).state.status).toBe('signed-in')
  })

  it('keeps a sign-in that completed while the sign-out was still revoking the old refresh token', () => {
    const { state } = run(
      signedIn,
      { type: 'sign-out-started' },
      { type: 'signed-in', record: record({ generation: 'g2' }) },
      { type: 'sign-out-finished', error: null },
    )
    expect(state).toMatchObject({ status: 'signed-in', record: { generation: 'g2' } })
  })

  it('ignores an older revision of the same sign-in, and an end that names another sign-in', () => {
    const newer = run(signedIn, { type: 'adopted', record: refreshed(record(), 'at2') }).state
    expect(run(newer, { type: 'adopted', record: record() }).state).toBe(newer)
    expect(run(newer, { type: 'ended', reason: 'other-tab', error: null, generation: 'g0' }).state).toBe(newer)
  })

  it('ends with the reason the provider caused, and keeps it against a later other-tab', () => {
    const { state } = run(
      signedIn,
      { type: 'ended', reason: 'refresh-rejected', error: null, generation: 'g1' },
      { type: 'ended', reason: 'other-tab', error: null, generation: 'g1' },
    )
    expect(toSnapshot(state)).toMatchObject({ status: 'signed-out', reason: 'refresh-rejected' })
  })

  it('plans the expiry of a session without refresh token, and its end at expiry', () => {
    const noRefresh = record({ tokens: { ...record().tokens, refreshToken: undefined } })
    const { effects } = run(initialState, { type: 'loaded', record: noRefresh, storage: 'memory' })
    expect(effects).toContainEqual({ type: 'plan', at: T0 + 3_600_000, task: 'expire' })
  })

  it('waits for refresh code that did not load, with the error shown, and plans the next attempt', () => {
    const error = new AuthError('chunk_load_failed', 'offline')
    const { state, effects } = run(
      signedIn,
      { type: 'refresh-started' },
      { type: 'code-unavailable', error, retryAt: T0 + 5_000 },
    )
    expect(state).toMatchObject({ status: 'signed-in', phase: 'idle', error })
    expect(effects).toEqual([{ type: 'publish' }, { type: 'plan', at: T0 + 5_000, task: 'refresh' }])
  })

  it('goes on from memory when the store refuses a write, and says so', () => {
    const error = new AuthError('storage_error', 'full')
    const { state } = run(signedIn, { type: 'storage-failed', error })
    expect(toSnapshot(state)).toMatchObject({ status: 'signed-in', storage: 'memory', error })
  })
})

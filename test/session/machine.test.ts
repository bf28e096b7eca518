import { describe, expect, it } from 'vitest'
import { AuthError } from '../../src/platform/errors.js'
import {
  initialState,
  planFor,
  toSnapshot,
  transition,
  type SessionEvent,
  type SessionState,
} from '../../src/session/machine.js'
import type { SessionRecord } from '../../src/session/record.js'

const T0 = 1_700_000_000_000
const context = { leewaySeconds: 60, random: 0 }

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    v: 1,
    generation: 'g1',
    revision: 0,
    tokens: {
      accessToken: 'at',
      tokenType: 'bearer',
      refreshToken: 'rt',
      idToken: undefined,
      issuedAt: T0,
      expiresAt: T0 + 3_600_000,
      scope: undefined,
    },
    claims: { iss: 'https://op.example', sub: 'alice', aud: 'app', exp: 0, iat: 0 },
    ...overrides,
  }
}

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

describe('the session state machine', () => {
  it('starts loading and publishes signed-in with a refresh planned when a record loads', () => {
    expect(toSnapshot(initialState).status).toBe('loading')
    const { state, effects } = run(initialState, { type: 'loaded', record: record(), storage: 'indexeddb' })
    expect(toSnapshot(state)).toMatchObject({ status: 'signed-in', user: { sub: 'alice' }, storage: 'indexeddb' })
    expect(effects).toEqual([{ type: 'publish' }, { type: 'plan', at: T0 + 3_600_000 - 60_000, task: 'refresh' }])
  })

  it('loads an unreadable record as signed out with its reason and error, and plans nothing', () => {
    const error = new AuthError('session_unreadable', 'unreadable')
    const { state, effects } = run(initialState, {
      type: 'loaded',
      record: undefined,
      storage: 'indexeddb',
      reason: 'session-unreadable',
      error,
    })
    expect(toSnapshot(state)).toMatchObject({ status: 'signed-out', reason: 'session-unreadable', error })
    expect(effects).toEqual([{ type: 'publish' }, { type: 'unplan' }])
  })

  it('ignores every update while this tab signs out, so no refresh in flight can bring the session back', () => {
    const { state } = run(
      signedIn,
      { type: 'sign-out-started' },
      { type: 'updated', record: record({ revision: 1, tokens: { ...record().tokens, accessToken: 'newer' } }) },
    )
    expect(toSnapshot(state)).toMatchObject({ status: 'signed-out', reason: 'signed-out' })
    expect(state.record).toBeUndefined()
  })

  it('follows other tabs again once its own sign-out finished', () => {
    const { state } = run(
      signedIn,
      { type: 'sign-out-started' },
      { type: 'sign-out-finished', error: null },
      { type: 'updated', record: record({ generation: 'g2' }) },
    )
    expect(toSnapshot(state)).toMatchObject({ status: 'signed-in' })
    expect(state.record?.generation).toBe('g2')
  })

  it('ignores an older revision of the same sign-in arriving late', () => {
    const newer = run(signedIn, { type: 'updated', record: record({ revision: 3 }) }).state
    const { state, effects } = run(newer, { type: 'updated', record: record({ revision: 2 }) })
    expect(state.record?.revision).toBe(3)
    expect(effects).toEqual([])
  })

  it('does not let the end of an older sign-in end a newer one', () => {
    const newer = run(signedIn, { type: 'signed-in', record: record({ generation: 'g2' }) }).state
    const { state } = run(newer, { type: 'ended', reason: 'other-tab', generation: 'g1' })
    expect(toSnapshot(state)).toMatchObject({ status: 'signed-in' })
  })

  it("keeps this tab's own reason when another tab reports the same sign-out", () => {
    const { state } = run(
      signedIn,
      { type: 'sign-out-started' },
      { type: 'sign-out-finished', error: null },
      { type: 'ended', reason: 'other-tab' },
    )
    expect(toSnapshot(state)).toMatchObject({ status: 'signed-out', reason: 'signed-out' })
  })

  it('reports the shared refresh failure as the error of every tab, and plans the retry at its time', () => {
    const failing = record({
      revision: 1,
      failure: { attempts: 2, retryAt: T0 + 5_000, code: 'provider_unavailable', message: 'down', unanswered: 0 },
    })
    const { state, effects } = run(signedIn, { type: 'updated', record: failing })
    expect(toSnapshot(state)).toMatchObject({
      status: 'signed-in',
      error: { code: 'provider_unavailable', message: 'down' },
    })
    expect(effects).toContainEqual({ type: 'plan', at: T0 + 5_000, task: 'refresh' })
  })

  it('switches to memory and reports a store that refused a write, keeping the session', () => {
    const error = new AuthError('storage_error', 'full')
    const { state } = run(signedIn, { type: 'storage-failed', error })
    expect(toSnapshot(state)).toMatchObject({ status: 'signed-in', storage: 'memory', error })
  })

  it('does nothing at all once disposed', () => {
    const disposed = run(signedIn, { type: 'disposed' })
    expect(disposed.effects).toEqual([{ type: 'unplan' }])
    const after = run(
      disposed.state,
      { type: 'updated', record: record({ revision: 5 }) },
      { type: 'sign-out-started' },
    )
    expect(after.effects).toEqual([])
    expect(after.state).toBe(disposed.state)
  })

  it('clears the error of a failure once a refresh succeeds', () => {
    const failing = record({
      revision: 1,
      failure: { attempts: 1, retryAt: T0 + 1_000, code: 'network_error', message: 'offline', unanswered: 1 },
    })
    const { state } = run(
      signedIn,
      { type: 'updated', record: failing },
      { type: 'updated', record: record({ revision: 2 }) },
    )
    expect(toSnapshot(state).error).toBeNull()
  })
})

describe('planFor', () => {
  it('plans the end of a session without refresh token at its expiry', () => {
    const lapsing = record({ tokens: { ...record().tokens, refreshToken: undefined } })
    expect(planFor(lapsing, context)).toEqual({ type: 'plan', at: T0 + 3_600_000, task: 'expire' })
  })

  it('refreshes a short token a quarter of its life early, and jitter only makes it earlier', () => {
    const short = record({ tokens: { ...record().tokens, expiresAt: T0 + 20_000 } })
    expect(planFor(short, { leewaySeconds: 60, random: 0 })).toMatchObject({ at: T0 + 15_000 })
    // A twentieth of the life (1 s) at most.
    expect(planFor(short, { leewaySeconds: 60, random: 0.999 })).toMatchObject({ at: T0 + 15_000 - 999 })
  })
})

/**
 * The session of one tab as a pure state machine: `transition(state, event)` returns the next
 * state and the effects to perform (publish the snapshot, plan the one timer), and touches
 * nothing. The in-flight phases (a refresh, a sign-out) are states, so a late answer cannot undo
 * a sign-out. The owner in `session.ts` is the only module that dispatches events and performs
 * the effects.
 */
import type { AuthError } from '../platform/errors.js'
import type { StorageKind } from '../platform/storage.js'
import type { UserClaims } from '../protocol/token-set.js'
import { failureError, type SessionRecord } from './record.js'
import { planFor, type Plan } from './token-status.js'

/** Why the user is signed out. */
export type SignedOutReason =
  /** This app called `signOut()`. */
  | 'signed-out'
  /** The provider rejected the refresh token (`invalid_grant`: expired, revoked, reused). */
  | 'refresh-rejected'
  /** The provider refused this client (`invalid_client`, `unauthorized_client`, 401/403), twice. */
  | 'client-rejected'
  /** The provider's refresh answer failed validation (ID token, `token_type`) after it replaced the refresh token. */
  | 'refresh-invalid'
  /** The access token expired and there was no refresh token. */
  | 'expired'
  /** Another tab signed out. */
  | 'other-tab'
  /** A refreshed ID token named another user. */
  | 'subject-changed'
  /** The DPoP key the tokens are bound to is gone. */
  | 'dpop-key-lost'
  /** The stored session had an unknown version or shape and was removed. */
  | 'session-unreadable'

interface StateBase {
  /** Where the session is kept: `memory` means IndexedDB was unavailable and the session ends with the tab. */
  storage: StorageKind | null
  /** The last background failure (a refresh that failed and will be retried, a blocked store), or `null`. */
  error: AuthError | null
}

/** The snapshot `getSnapshot()` returns; a new object on every change, never mutated. */
export type AuthState =
  | (StateBase & { status: 'loading'; user: null; expiresAt: null; reason: null })
  | (StateBase & { status: 'signed-out'; user: null; expiresAt: null; reason: SignedOutReason | null })
  | (StateBase & { status: 'signed-in'; user: UserClaims; expiresAt: number; reason: null })

/** What one tab believes about the session. */
export type SessionState =
  | (StateBase & { status: 'loading' })
  /** `ended`: the sign-in that ended here; late news of it (a refresh answered after a sign-out) is ignored. */
  | (StateBase & { status: 'signed-out'; reason: SignedOutReason | null; ended: string | undefined })
  | (StateBase & { status: 'signed-in'; record: SessionRecord; phase: 'idle' | 'refreshing' | 'signing-out' })

export type SessionEvent =
  | {
      type: 'loaded'
      record: SessionRecord | undefined
      storage: StorageKind
      reason?: SignedOutReason
      error?: AuthError
    }
  /** This tab completed a sign-in. */
  | { type: 'signed-in'; record: SessionRecord }
  /** This tab started refreshing the session's own token. */
  | { type: 'refresh-started' }
  /**
   * This tab's refresh (here or in the refresh worker) is over: with the record it committed or
   * adopted (holding the shared backoff when refreshes fail), or without one; `error` is the failure
   * the session is kept through.
   */
  | { type: 'refresh-finished'; record: SessionRecord | undefined; error: AuthError | null }
  /** A record another tab or the refresh worker wrote, or the store holds. */
  | { type: 'adopted'; record: SessionRecord }
  /** The session ended; `generation` names which one, so a late message cannot end a newer sign-in. */
  | { type: 'ended'; reason: SignedOutReason; error: AuthError | null; generation: string | undefined }
  | { type: 'sign-out-started' }
  | { type: 'sign-out-finished'; error: AuthError | null }
  /** The store refused a write: the session goes on from memory. */
  | { type: 'storage-failed'; error: AuthError }
  /** The refresh code could not be loaded: the refresh is tried again at `retryAt` (epoch ms). */
  | { type: 'code-unavailable'; error: AuthError; retryAt: number }

/** What the owner does after a transition. */
export type Effect = { type: 'publish' } | ({ type: 'plan' } & Plan) | { type: 'unplan' }

/** Inputs of a transition that are not state: the refresh leeway and a random number in [0, 1) for jitter. */
export interface TransitionContext {
  leewaySeconds: number
  random: number
}

export const initialState: SessionState = { status: 'loading', storage: null, error: null }

type Result = { state: SessionState; effects: Effect[] }

/** The next state and the effects of `event`. */
export function transition(state: SessionState, event: SessionEvent, context: TransitionContext): Result {
  const { storage, error } = state
  switch (event.type) {
    case 'loaded': {
      const base = { storage: event.storage, error: event.error ?? null }
      if (event.record)
        return signedIn({ ...base, error: event.error ?? failureError(event.record) }, event.record, context)
      return signedOut(base, event.reason ?? null, undefined)
    }
    case 'signed-in':
      return signedIn({ storage, error: null }, event.record, context)
    case 'refresh-started':
      return state.status === 'signed-in' && state.phase === 'idle'
        ? quiet({ ...state, phase: 'refreshing' })
        : quiet(state)
    case 'refresh-finished': {
      if (event.record) return accept(state, event.record, event.error ?? failureError(event.record), context, true)
      if (state.status !== 'signed-in' || state.phase === 'signing-out') return quiet(state)
      return published({ ...state, phase: 'idle', error: event.error ?? error })
    }
    case 'adopted':
      return accept(state, event.record, failureError(event.record), context, false)
    case 'ended':
      return end(state, event)
    case 'sign-out-started': {
      if (state.status !== 'signed-in') return signedOut({ storage, error: null }, 'signed-out', undefined)
      return {
        state: { ...state, phase: 'signing-out', error: null },
        effects: [{ type: 'publish' }, { type: 'unplan' }],
      }
    }
    case 'sign-out-finished': {
      // A sign-in completed while the sign-out revoked the old refresh token: it stays.
      if (state.status === 'signed-in' && state.phase !== 'signing-out') return quiet(state)
      return signedOut({ storage, error: event.error }, 'signed-out', generationOf(state))
    }
    case 'storage-failed':
      return published({ ...state, storage: 'memory', error: event.error })
    case 'code-unavailable': {
      if (state.status !== 'signed-in' || state.phase === 'signing-out') return quiet(state)
      const next: SessionState = { ...state, phase: 'idle', error: event.error }
      return { state: next, effects: [{ type: 'publish' }, { type: 'plan', at: event.retryAt, task: 'refresh' }] }
    }
  }
}

/**
 * `record` as this tab's session, unless it is older news: a revision this tab has passed, or a
 * sign-in that ended here. `finishing`: this tab's own refresh is over (else one in flight goes on).
 */
function accept(
  state: SessionState,
  record: SessionRecord,
  error: AuthError | null,
  context: TransitionContext,
  finishing: boolean,
): Result {
  if (state.status === 'signed-out' && state.ended === record.generation) return quiet(state)
  if (state.status !== 'signed-in') return signedIn({ storage: state.storage, error }, record, context)
  if (state.phase === 'signing-out') return quiet(state)
  const phase = finishing ? 'idle' : state.phase
  const held = state.record
  if (held.generation === record.generation && held.revision >= record.revision) {
    // Nothing newer: only the phase (and the error of a refresh that just finished) can change.
    return finishing ? published({ ...state, phase, error }) : quiet(state)
  }
  return signedIn({ storage: state.storage, error }, record, context, phase)
}

function end(state: SessionState, event: Extract<SessionEvent, { type: 'ended' }>): Result {
  const otherSession = event.generation !== undefined && generationOf(state) !== event.generation
  if (state.status === 'signed-in' && otherSession) return quiet(state)
  if (state.status === 'signed-out' && (event.reason === 'other-tab' || otherSession)) return quiet(state)
  return signedOut(
    { storage: state.storage, error: event.error },
    event.reason,
    event.generation ?? generationOf(state),
  )
}

function signedIn(
  base: StateBase,
  record: SessionRecord,
  context: TransitionContext,
  phase: 'idle' | 'refreshing' = 'idle',
): Result {
  const plan = planFor(record, context.leewaySeconds, context.random)
  return {
    state: { ...base, status: 'signed-in', record, phase },
    effects: [{ type: 'publish' }, { type: 'plan', ...plan }],
  }
}

function signedOut(base: StateBase, reason: SignedOutReason | null, ended: string | undefined): Result {
  return { state: { ...base, status: 'signed-out', reason, ended }, effects: [{ type: 'publish' }, { type: 'unplan' }] }
}

function quiet(state: SessionState): Result {
  return { state, effects: [] }
}

function published(state: SessionState): Result {
  return { state, effects: [{ type: 'publish' }] }
}

function generationOf(state: SessionState): string | undefined {
  return state.status === 'signed-in'
    ? state.record.generation
    : state.status === 'signed-out'
      ? state.ended
      : undefined
}

/** The snapshot of `state`; a sign-out in progress already reads as signed out. */
export function toSnapshot(state: SessionState): AuthState {
  const { storage, error } = state
  if (state.status === 'loading')
    return { status: 'loading', user: null, expiresAt: null, reason: null, storage, error }
  if (state.status === 'signed-out' || state.phase === 'signing-out') {
    const reason = state.status === 'signed-out' ? state.reason : 'signed-out'
    return { status: 'signed-out', user: null, expiresAt: null, reason, storage, error }
  }
  const { claims, tokens } = state.record
  return { status: 'signed-in', user: claims, expiresAt: tokens.expiresAt, reason: null, storage, error }
}

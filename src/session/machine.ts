/**
 * The session of one tab as a pure state machine: `transition(state, event)` returns the next
 * state and the effects to perform (publish a snapshot, plan the one timer), and touches nothing.
 * What happens in the world (a record loaded, committed, adopted from another tab, a session
 * ended) arrives as events; the runner in `session-runner.ts` performs the effects.
 */
import { AuthError } from '../platform/errors.js'
import type { RefreshFailure, SessionRecord } from './record.js'
import type { StorageKind } from '../platform/storage.js'
import { refreshDueAt, type UserClaims } from '../protocol/token-set.js'

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
export interface SessionState {
  status: AuthState['status']
  record: SessionRecord | undefined
  reason: SignedOutReason | null
  error: AuthError | null
  storage: StorageKind | null
  /** This tab is signing out: what other tabs announce meanwhile no longer applies here. */
  ending: boolean
  disposed: boolean
}

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
  /** A newer record: this tab's refresh or failure bookkeeping, or another tab's. */
  | { type: 'updated'; record: SessionRecord; error?: AuthError }
  /** The session ended; `generation` names which one, so a late message cannot end a newer sign-in. */
  | { type: 'ended'; reason: SignedOutReason; error?: AuthError | null; generation?: string }
  | { type: 'sign-out-started' }
  | { type: 'sign-out-finished'; error: AuthError | null }
  /** The store refused a write: the session goes on from memory. */
  | { type: 'storage-failed'; error: AuthError }
  | { type: 'disposed' }

/** What the runner does after a transition. */
export type Effect = { type: 'publish' } | { type: 'plan'; at: number; task: 'refresh' | 'expire' } | { type: 'unplan' }

/** Inputs of a transition that are not state: the refresh leeway and a random number for jitter. */
export interface TransitionContext {
  leewaySeconds: number
  /** In [0, 1). */
  random: number
}

export const initialState: SessionState = {
  status: 'loading',
  record: undefined,
  reason: null,
  error: null,
  storage: null,
  ending: false,
  disposed: false,
}

/** The next state and the effects of `event`. */
export function transition(
  state: SessionState,
  event: SessionEvent,
  context: TransitionContext,
): { state: SessionState; effects: Effect[] } {
  if (state.disposed) return { state, effects: [] }
  switch (event.type) {
    case 'loaded':
      if (event.record)
        return signedIn(
          { ...state, storage: event.storage, error: event.error ?? failureError(event.record) },
          event.record,
          context,
        )
      return signedOut({ ...state, storage: event.storage }, event.reason ?? null, event.error ?? null)
    case 'signed-in':
      return signedIn({ ...state, ending: false, error: null }, event.record, context)
    case 'updated': {
      const current = state.record
      const stale = current?.generation === event.record.generation && current.revision > event.record.revision
      if (state.ending || stale) return { state, effects: [] }
      return signedIn({ ...state, error: event.error ?? failureError(event.record) }, event.record, context)
    }
    case 'ended': {
      const otherSession = event.generation !== undefined && state.record?.generation !== event.generation
      if (otherSession || (state.status === 'signed-out' && event.reason === 'other-tab')) return { state, effects: [] }
      return signedOut(state, event.reason, event.error ?? null)
    }
    case 'sign-out-started':
      return signedOut({ ...state, ending: true }, 'signed-out', null)
    case 'sign-out-finished':
      return {
        state: { ...state, ending: false, error: event.error },
        effects: event.error === state.error ? [] : [{ type: 'publish' }],
      }
    case 'storage-failed':
      return { state: { ...state, storage: 'memory', error: event.error }, effects: [{ type: 'publish' }] }
    case 'disposed':
      return { state: { ...state, disposed: true }, effects: [{ type: 'unplan' }] }
  }
}

function signedIn(state: SessionState, record: SessionRecord, context: TransitionContext) {
  const next: SessionState = { ...state, status: 'signed-in', record, reason: null }
  return { state: next, effects: [{ type: 'publish' }, planFor(record, context)] satisfies Effect[] }
}

function signedOut(state: SessionState, reason: SignedOutReason | null, error: AuthError | null) {
  const next: SessionState = { ...state, status: 'signed-out', record: undefined, reason, error }
  return { state: next, effects: [{ type: 'publish' }, { type: 'unplan' }] satisfies Effect[] }
}

/**
 * When this tab next acts for `record`: at the shared retry time while refreshes fail; at expiry
 * when there is no refresh token (the session then ends); else ahead of expiry by the leeway (at
 * most a quarter of the token's life), a little earlier still by jitter so tabs that loaded
 * together do not all wake at once.
 */
export function planFor(record: SessionRecord, context: TransitionContext): Effect {
  const { tokens, failure } = record
  if (failure) return { type: 'plan', at: failure.retryAt, task: 'refresh' }
  if (tokens.refreshToken === undefined) return { type: 'plan', at: tokens.expiresAt, task: 'expire' }
  const jitter = context.random * Math.min(5_000, (tokens.expiresAt - tokens.issuedAt) / 20)
  return { type: 'plan', at: refreshDueAt(tokens, context.leewaySeconds) - jitter, task: 'refresh' }
}

/** The snapshot of `state`. */
export function toSnapshot(state: SessionState): AuthState {
  const { storage, error } = state
  switch (state.status) {
    case 'loading':
      return { status: 'loading', user: null, expiresAt: null, reason: null, storage, error }
    case 'signed-out':
      return { status: 'signed-out', user: null, expiresAt: null, reason: state.reason, storage, error }
    case 'signed-in': {
      const { claims, tokens } = state.record!
      return { status: 'signed-in', user: claims, expiresAt: tokens.expiresAt, reason: null, storage, error }
    }
  }
}

/** The error every tab reports while the shared refresh failure lasts. */
function failureError(record: SessionRecord): AuthError | null {
  const failure: RefreshFailure | undefined = record.failure
  return failure ? new AuthError(failure.code, failure.message) : null
}

/**
 * The decisions of a refresh, as pure functions with table tests: before the grant (adopt what
 * another tab did, wait for the shared retry time, grant, or end) and after it (commit, retry with
 * a newer refresh token, back off, refuse one API's token, or end and revoke). The refresh
 * transaction in `refresh.ts` performs what they decide.
 */
import { AuthError, dpopKeyUnavailable, errorData, expiredWithoutRefreshToken } from '../platform/errors.js'
import type { RefreshResult } from '../protocol/refresh-steps.js'
import type { SignedOutReason } from './machine.js'
import { reviseRecord, tokensFor, type RefreshFailure, type SessionRecord } from './record.js'
import { refreshDueAt, sessionLapsed } from './token-status.js'

/** What the transaction does before asking the provider. */
export type BeforeGrant =
  /** Another tab (or the worker) already did it, a newer sign-in replaced the session, or every tab waits for the retry time. */
  | { kind: 'adopt'; record: SessionRecord }
  | { kind: 'grant'; record: SessionRecord }
  /** The session is gone from the store: another tab ended it. */
  | { kind: 'gone' }
  | { kind: 'end'; reason: SignedOutReason; error: AuthError }

/**
 * Decides, inside the session's lock and with the stored record `latest`, what a refresh that
 * started from `held` does. `force` asks for a token newer than the held one, backoff or not.
 */
export function beforeGrant(input: {
  latest: SessionRecord | undefined
  held: SessionRecord
  force: boolean
  resource: string | undefined
  dpop: boolean
  now: number
  leewaySeconds: number
}): BeforeGrant {
  const { latest, held, resource, now } = input
  if (latest === undefined) return { kind: 'gone' }
  const theirs = tokensFor(latest, resource)
  const renewed =
    theirs !== undefined &&
    theirs.accessToken !== tokensFor(held, resource)?.accessToken &&
    now < refreshDueAt(theirs, input.leewaySeconds)
  if (renewed) return { kind: 'adopt', record: latest }
  if (!input.force && latest.failure !== undefined && now < latest.failure.retryAt)
    return { kind: 'adopt', record: latest }
  if (sessionLapsed(latest, now)) return { kind: 'end', reason: 'expired', error: expiredWithoutRefreshToken() }
  // Without a refresh token there is nothing to grant: the valid token is all there is.
  if (latest.tokens.refreshToken === undefined) return { kind: 'adopt', record: latest }
  if (input.dpop && latest.dpopKey === undefined)
    return { kind: 'end', reason: 'dpop-key-lost', error: dpopKeyUnavailable() }
  return { kind: 'grant', record: latest }
}

/** What the transaction does with the provider's answer. */
export type AfterGrant =
  | { kind: 'commit'; record: SessionRecord }
  /** The store holds a refresh token newer than the one refused (a tab without Web Locks rotated it): grant again with it. */
  | { kind: 'retry'; record: SessionRecord }
  /** Keep the session; `record` carries the failure, so every tab follows one backoff. */
  | { kind: 'backoff'; record: SessionRecord; error: AuthError }
  /** The provider refuses this one API's token: the caller hears it, the session is untouched. */
  | { kind: 'refuse'; error: AuthError }
  /** End the session, and revoke `revoke` (a refresh token the provider issued that cannot be trusted). */
  | { kind: 'end'; reason: SignedOutReason; error: AuthError; revoke: string | undefined }
  /** The page's own unload cut the request off: no failure of the network or the provider, nothing to record. */
  | { kind: 'abandon'; error: AuthError }

/** Whether the answer to the grant from `latest` calls for a second read of the store before deciding. */
export function needsReread(result: RefreshResult): boolean {
  return result.kind === 'failed' && result.retry === 'never'
}

/** Whether the answer calls for asking if the provider answers at all (its token endpoint went unanswered twice). */
export function needsProbe(latest: SessionRecord, result: RefreshResult): boolean {
  return result.kind === 'failed' && result.unanswered && (latest.failure?.unanswered ?? 0) >= 1
}

/**
 * Decides what the answer `result` to a grant from `latest` means. `reread` is the store read again
 * after an `invalid_grant` (see {@link needsReread}); `providerAnswers` whether discovery answered
 * after the token endpoint went unanswered twice (see {@link needsProbe}).
 */
export function afterGrant(input: {
  latest: SessionRecord
  result: RefreshResult
  resource: string | undefined
  now: number
  /** In [0, 1): the jitter of the retry delay. */
  random: number
  reread?: SessionRecord | undefined
  providerAnswers?: boolean | undefined
  /** The page is being unloaded (see `HostEnvironment.unloading`). */
  unloading?: boolean | undefined
}): AfterGrant {
  const { latest, result, reread } = input
  if (result.kind === 'failed' && result.unanswered && input.unloading === true) {
    return { kind: 'abandon', error: result.error }
  }
  switch (result.kind) {
    case 'refreshed':
      return { kind: 'commit', record: refreshedRecord(latest, result, input.resource) }
    case 'invalid': {
      const reason = result.error.code === 'subject_changed' ? 'subject-changed' : 'refresh-invalid'
      return {
        kind: 'end',
        reason,
        error: result.error,
        revoke: result.replacedRefreshToken ?? latest.tokens.refreshToken,
      }
    }
    case 'failed':
      if (result.retry === 'never') {
        const newer =
          reread?.generation === latest.generation && reread.tokens.refreshToken !== latest.tokens.refreshToken
        if (newer) return { kind: 'retry', record: reread }
        return { kind: 'end', reason: 'refresh-rejected', error: result.error, revoke: undefined }
      }
      if (result.retry === 'resource') return { kind: 'refuse', error: result.error }
      if (result.retry === 'once' && latest.failure?.code === result.error.code) {
        const reason = result.error.code === 'client_rejected' ? 'client-rejected' : 'refresh-rejected'
        return { kind: 'end', reason, error: result.error, revoke: undefined }
      }
      return backoff(input, result)
  }
}

function backoff(
  input: Parameters<typeof afterGrant>[0],
  result: Extract<RefreshResult, { kind: 'failed' }>,
): AfterGrant {
  const previous = input.latest.failure
  const unanswered = result.unanswered ? (previous?.unanswered ?? 0) + 1 : 0
  const error = unanswered >= 2 && input.providerAnswers === true ? unreachable(result.error) : result.error
  const attempts = (previous?.attempts ?? 0) + 1
  const delay = retryDelayMs({
    attempts,
    random: input.random,
    retryAfterMs: result.retryAfterMs,
    slow: error !== result.error,
  })
  const failure: RefreshFailure = { ...errorData(error), attempts, retryAt: input.now + delay, unanswered }
  return { kind: 'backoff', record: reviseRecord(input.latest, { failure }), error }
}

/**
 * The record after a successful refresh. For one API's token only that token is new; the refresh
 * token the provider rotated to and a new ID token are the session's either way.
 */
function refreshedRecord(
  latest: SessionRecord,
  result: Extract<RefreshResult, { kind: 'refreshed' }>,
  resource: string | undefined,
): SessionRecord {
  const { tokens, claims } = result
  if (resource === undefined) return reviseRecord(latest, { tokens, claims, failure: undefined })
  const { accessToken, tokenType, issuedAt, expiresAt, scope } = tokens
  return reviseRecord(latest, {
    tokens: { ...latest.tokens, refreshToken: tokens.refreshToken, idToken: tokens.idToken },
    claims,
    failure: undefined,
    resources: { ...latest.resources, [resource]: { accessToken, tokenType, issuedAt, expiresAt, scope } },
  })
}

/** Retry delays: full jitter over 2 s × 2^attempt, capped at 5 minutes, never under 1 s. */
const RETRY_BASE_MS = 2_000
const RETRY_CAP_MS = 5 * 60_000
const RETRY_FLOOR_MS = 1_000

/**
 * How long every tab waits before the next attempt after `attempts` failures in a row: at least the
 * provider's `Retry-After`, the longest delay when the token endpoint is unreachable from here.
 */
export function retryDelayMs(input: {
  attempts: number
  random: number
  retryAfterMs?: number | undefined
  slow: boolean
}): number {
  if (input.slow) return RETRY_CAP_MS
  const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.max(0, input.attempts - 1))
  return Math.max(RETRY_FLOOR_MS, input.random * ceiling, input.retryAfterMs ?? 0)
}

function unreachable(cause: AuthError): AuthError {
  return new AuthError(
    'token_endpoint_unreachable',
    "The provider answers, but its token endpoint keeps failing at the network level. Most often the provider sends no CORS headers on its error answers (a rejected refresh token then looks like a network failure): allow this origin on the token endpoint's error responses too. The library now retries every few minutes.",
    { cause },
  )
}

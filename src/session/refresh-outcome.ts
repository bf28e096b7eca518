/**
 * What a refresh does with the provider's answer: commit the new tokens; end the session (and
 * revoke what the provider issued) when the refresh token is dead or the answer cannot be
 * trusted; or keep the session and write the failure into the record, so every tab follows one
 * backoff.
 */
import type { AuthEnvironment } from '../platform/environment.js'
import { AuthError } from '../platform/errors.js'
import type { Protocol, RefreshResult } from '../protocol/provider.js'
import type { RecordStore } from './record-store.js'
import type { Commits } from './commits.js'
import { reviseRecord, type RefreshFailure, type SessionRecord } from './record.js'

/** What settling an answer needs: the clock and randomness, the record, and the commits. */
export interface OutcomeDeps {
  env: Pick<AuthEnvironment, 'now' | 'random'>
  records: RecordStore
  commits: Pick<Commits, 'commit' | 'end'>
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

/** The stored record, or this tab's when the store cannot be read; `undefined` once it is gone. */
export async function stored(records: RecordStore, fallback: SessionRecord): Promise<SessionRecord | undefined> {
  const found = await records.read().catch(() => ({ kind: 'record' as const, record: fallback }))
  return found.kind === 'record' ? found.record : undefined
}

export async function settle(
  deps: OutcomeDeps,
  latest: SessionRecord,
  result: RefreshResult,
  protocol: Protocol,
  options: { reread: boolean; resource: string | undefined },
): Promise<SessionRecord> {
  switch (result.kind) {
    case 'refreshed': {
      const next = refreshedRecord(latest, result, options.resource)
      if (await deps.commits.commit(next, latest)) return next
      // Signed out (here or, without Web Locks, elsewhere) while the provider answered.
      await revokeQuietly(protocol, next.tokens.refreshToken)
      throw notSignedIn('The session ended while it was being refreshed; sign in again.')
    }
    case 'invalid': {
      // The provider has replaced the refresh token with one we cannot trust: end, and revoke it.
      await deps.commits.end(
        result.error.code === 'subject_changed' ? 'subject-changed' : 'refresh-invalid',
        result.error,
        latest.generation,
      )
      await revokeQuietly(protocol, result.replacedRefreshToken ?? latest.tokens.refreshToken)
      throw result.error
    }
    case 'failed':
      if (result.retry === 'never') {
        // A tab without Web Locks may have rotated the token meanwhile: read once more and
        // retry with the newer one before giving the session up.
        const again = options.reread ? await stored(deps.records, latest) : undefined
        if (again?.generation === latest.generation && again.tokens.refreshToken !== latest.tokens.refreshToken) {
          return settle(deps, again, await protocol.refresh(again, options.resource), protocol, {
            ...options,
            reread: false,
          })
        }
        await deps.commits.end('refresh-rejected', result.error, latest.generation)
        throw result.error
      }
      // The provider refuses this one API's token: the caller hears it, the session is untouched.
      if (result.retry === 'resource') throw result.error
      if (result.retry === 'once' && latest.failure?.code === result.error.code) {
        await deps.commits.end(
          result.error.code === 'client_rejected' ? 'client-rejected' : 'refresh-rejected',
          result.error,
          latest.generation,
        )
        throw result.error
      }
      return recordFailure(deps, latest, result, protocol)
  }
}

/** Keeps the session, and writes the failure into the record so every tab follows one backoff. */
async function recordFailure(
  deps: OutcomeDeps,
  latest: SessionRecord,
  result: Extract<RefreshResult, { kind: 'failed' }>,
  protocol: Protocol,
): Promise<never> {
  const previous = latest.failure
  const unanswered = result.unanswered ? (previous?.unanswered ?? 0) + 1 : 0
  let error = result.error
  if (unanswered >= 2 && (await protocol.answers())) error = unreachable(error)
  const attempts = (previous?.attempts ?? 0) + 1
  const delay = retryDelayMs({
    attempts,
    random: deps.env.random(),
    retryAfterMs: result.retryAfterMs,
    slow: error !== result.error,
  })
  const failure: RefreshFailure = {
    attempts,
    retryAt: deps.env.now() + delay,
    code: error.code,
    message: error.message,
    unanswered,
  }
  await deps.commits.commit(reviseRecord(latest, { failure }), latest, error)
  throw error
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

/** Best effort: a token we discard should not stay usable, but failing to revoke it changes nothing here. */
async function revokeQuietly(protocol: Protocol, refreshToken: string | undefined): Promise<void> {
  if (refreshToken !== undefined) await protocol.revoke(refreshToken).catch(() => false)
}

export function notSignedIn(message: string): AuthError {
  return new AuthError('not_signed_in', message)
}

function unreachable(cause: AuthError): AuthError {
  return new AuthError(
    'token_endpoint_unreachable',
    "The provider answers, but its token endpoint keeps failing at the network level. Most often the provider sends no CORS headers on its error answers (a rejected refresh token then looks like a network failure): allow this origin on the token endpoint's error responses too. The library now retries every few minutes.",
    { cause },
  )
}

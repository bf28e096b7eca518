import type { ResolvedConfig } from './config.js'
import type { TabSync } from './cross-tab.js'
import type { AuthEnvironment } from './environment.js'
import { AuthError } from './errors.js'
import type { Protocol, RefreshResult } from './protocol.js'
import type { RecordStore } from './record-store.js'
import type { Commits } from './session-commits.js'
import type { SessionEvent } from './session-machine.js'
import { reviseRecord, tokensFor, type RefreshFailure, type SessionRecord } from './session-record.js'
import type { SessionMessage } from './tab-follower.js'
import { refreshDueAt } from './token-set.js'

/** What the refresher needs from the session it refreshes. */
export interface RefresherDeps {
  config: Pick<ResolvedConfig, 'refreshLeewaySeconds' | 'dpop'>
  env: Pick<AuthEnvironment, 'now' | 'random'>
  tabs: TabSync<SessionMessage>
  records: RecordStore
  protocol(): Promise<Protocol>
  /** The record this tab holds: the refresh starts from it. */
  seen(): SessionRecord | undefined
  /** Whether this tab is signing out. */
  ending(): boolean
  /** Publishes a record or an end this tab learnt of while refreshing (a no-op where nothing is published). */
  dispatch(event: SessionEvent): void
  commits: Pick<Commits, 'commit' | 'end'>
}

export interface Refresher {
  /**
   * Refreshes the session once for every caller in this tab, and once for every tab: inside the
   * session's Web Lock the stored record is read first, and a refresh another tab already made (or
   * a backoff another tab set) is adopted instead of asking the provider again. `force` asks for a
   * token newer than the one this tab holds, backoff or not.
   *
   * @throws AuthError `not_signed_in` when the session ended meanwhile; the failure of a refresh
   *   that keeps the session (it is then in the snapshot too); or the failure that ended it.
   */
  refresh(options: RefreshOptions): Promise<SessionRecord>
}

/** What to refresh: the session's access token, or with `resource` the token of that one API. */
export interface RefreshOptions {
  force: boolean
  resource?: string | undefined
  /** The record the caller holds, when it is not this tab's (a page asking the refresh worker). */
  seen?: SessionRecord | undefined
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

/** Creates the {@link Refresher} of one session in one tab. */
export function createRefresher(deps: RefresherDeps): Refresher {
  const { env, records } = deps
  async function run(options: RefreshOptions): Promise<SessionRecord> {
    const seen = options.seen ?? deps.seen()
    if (seen === undefined) throw notSignedIn('Nobody is signed in; call signIn() first.')
    return deps.tabs.withLock(() => locked(seen, options))
  }

  async function locked(seen: SessionRecord, options: RefreshOptions): Promise<SessionRecord> {
    // Inside the lock the store is the truth: another tab may have refreshed, failed, signed out
    // or signed in while this one waited, and asking again would present a rotated refresh token.
    const latest = await stored(seen)
    if (latest === undefined) {
      deps.dispatch({ type: 'ended', reason: 'other-tab', generation: seen.generation })
      throw notSignedIn('The session was ended in another tab; sign in again.')
    }
    if (deps.ending()) throw notSignedIn('The session is being signed out.')
    if (latest.generation !== seen.generation || handledElsewhere(latest, seen, options)) {
      deps.dispatch({ type: 'updated', record: latest })
      return latest
    }
    if (deps.config.dpop && latest.dpopKey === undefined) {
      const error = new AuthError(
        'dpop_key_unavailable',
        'The DPoP key this session is bound to is gone. Sign in again.',
      )
      await deps.commits.end('dpop-key-lost', error, latest.generation)
      throw error
    }
    const protocol = await deps.protocol()
    const { resource } = options
    return settle(latest, await protocol.refresh(latest, resource), protocol, { reread: true, resource })
  }

  /** The stored record, or this tab's when the store cannot be read; `undefined` once it is gone. */
  async function stored(fallback: SessionRecord): Promise<SessionRecord | undefined> {
    const found = await records.read().catch(() => ({ kind: 'record' as const, record: fallback }))
    return found.kind === 'record' ? found.record : undefined
  }

  function handledElsewhere(latest: SessionRecord, seen: SessionRecord, options: RefreshOptions): boolean {
    const now = env.now()
    const theirs = tokensFor(latest, options.resource)
    const renewed =
      theirs !== undefined &&
      theirs.accessToken !== tokensFor(seen, options.resource)?.accessToken &&
      now < refreshDueAt(theirs, deps.config.refreshLeewaySeconds)
    const waiting = !options.force && latest.failure !== undefined && now < latest.failure.retryAt
    return renewed || waiting
  }

  async function settle(
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
          const again = options.reread ? await stored(latest) : undefined
          if (again?.generation === latest.generation && again.tokens.refreshToken !== latest.tokens.refreshToken) {
            return settle(again, await protocol.refresh(again, options.resource), protocol, {
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
        return recordFailure(latest, result, protocol)
    }
  }

  /** Keeps the session, and writes the failure into the record so every tab follows one backoff. */
  async function recordFailure(
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
      random: env.random(),
      retryAfterMs: result.retryAfterMs,
      slow: error !== result.error,
    })
    const failure: RefreshFailure = {
      attempts,
      retryAt: env.now() + delay,
      code: error.code,
      message: error.message,
      unanswered,
    }
    await deps.commits.commit(reviseRecord(latest, { failure }), latest, error)
    throw error
  }

  return { refresh: singleFlight(run) }
}

/**
 * `refresh` with one flight per resource: any number of concurrent callers in this tab share one
 * refresh of the same token.
 */
export function singleFlight(
  refresh: (options: RefreshOptions) => Promise<SessionRecord>,
): (options: RefreshOptions) => Promise<SessionRecord> {
  const flights = new Map<string, Promise<SessionRecord>>()
  return (options) => {
    const key = options.resource ?? ''
    let flight = flights.get(key)
    if (flight === undefined) {
      flight = refresh(options).finally(() => flights.delete(key))
      flights.set(key, flight)
    }
    return flight
  }
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

function notSignedIn(message: string): AuthError {
  return new AuthError('not_signed_in', message)
}

function unreachable(cause: AuthError): AuthError {
  return new AuthError(
    'token_endpoint_unreachable',
    "The provider answers, but its token endpoint keeps failing at the network level. Most often the provider sends no CORS headers on its error answers (a rejected refresh token then looks like a network failure): allow this origin on the token endpoint's error responses too. The library now retries every few minutes.",
    { cause },
  )
}

import type { ResolvedConfig } from '../protocol/config.js'
import type { TabSync } from '../platform/tab-sync.js'
import { AuthError } from '../platform/errors.js'
import type { Protocol } from '../protocol/provider.js'
import { notSignedIn, settle, stored, type OutcomeDeps } from './refresh-outcome.js'
import type { SessionEvent } from './machine.js'
import { tokensFor, type SessionRecord } from './record.js'
import type { SessionMessage } from './tab-follower.js'
import { refreshDueAt } from '../protocol/token-set.js'

/** What the refresher needs from the session it refreshes. */
export interface RefresherDeps extends OutcomeDeps {
  config: Pick<ResolvedConfig, 'refreshLeewaySeconds' | 'dpop'>
  tabs: TabSync<SessionMessage>
  protocol(): Promise<Protocol>
  /** The record this tab holds: the refresh starts from it. */
  seen(): SessionRecord | undefined
  /** Whether this tab is signing out. */
  ending(): boolean
  /** Publishes a record or an end this tab learnt of while refreshing (a no-op where nothing is published). */
  dispatch(event: SessionEvent): void
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

/** Creates the {@link Refresher} of one session in one tab. */
export function createRefresher(deps: RefresherDeps): Refresher {
  return {
    refresh: singleFlight((options) => {
      const seen = options.seen ?? deps.seen()
      if (seen === undefined) throw notSignedIn('Nobody is signed in; call signIn() first.')
      return deps.tabs.withLock(() => locked(deps, seen, options))
    }),
  }
}

async function locked(deps: RefresherDeps, seen: SessionRecord, options: RefreshOptions): Promise<SessionRecord> {
  // Inside the lock the store is the truth: another tab may have refreshed, failed, signed out
  // or signed in while this one waited, and asking again would present a rotated refresh token.
  const latest = await stored(deps.records, seen)
  if (latest === undefined) {
    deps.dispatch({ type: 'ended', reason: 'other-tab', generation: seen.generation })
    throw notSignedIn('The session was ended in another tab; sign in again.')
  }
  if (deps.ending()) throw notSignedIn('The session is being signed out.')
  if (latest.generation !== seen.generation || handledElsewhere(deps, latest, seen, options)) {
    deps.dispatch({ type: 'updated', record: latest })
    return latest
  }
  if (deps.config.dpop && latest.dpopKey === undefined) {
    const error = new AuthError('dpop_key_unavailable', 'The DPoP key this session is bound to is gone. Sign in again.')
    await deps.commits.end('dpop-key-lost', error, latest.generation)
    throw error
  }
  const protocol = await deps.protocol()
  const { resource } = options
  return settle(deps, latest, await protocol.refresh(latest, resource), protocol, { reread: true, resource })
}

function handledElsewhere(
  deps: RefresherDeps,
  latest: SessionRecord,
  seen: SessionRecord,
  options: RefreshOptions,
): boolean {
  const now = deps.env.now()
  const theirs = tokensFor(latest, options.resource)
  const renewed =
    theirs !== undefined &&
    theirs.accessToken !== tokensFor(seen, options.resource)?.accessToken &&
    now < refreshDueAt(theirs, deps.config.refreshLeewaySeconds)
  const waiting = !options.force && latest.failure !== undefined && now < latest.failure.retryAt
  return renewed || waiting
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

/**
 * The one refresh transaction: inside the session's Web Lock, read the stored record, decide
 * (adopt, wait, grant, end), ask the provider, decide again (commit, retry, back off, refuse, end
 * and revoke), commit with a compare-and-set, and tell the other tabs. It changes no tab's state
 * and returns an outcome: a page's session runs it as it is, and so does the refresh worker, with
 * the asking page's configuration.
 */
import type { AuthEnvironment } from '../platform/environment.js'
import { AuthError } from '../platform/errors.js'
import type { TabSync } from '../platform/tab-sync.js'
import type { ResolvedConfig } from '../protocol/config.js'
import type { RefreshSteps } from '../protocol/refresh-steps.js'
import { endSession } from './ending.js'
import type { SignedOutReason } from './machine.js'
import { updateMessage, type SessionMessage } from './messages.js'
import type { RecordStore } from './record-store.js'
import type { SessionRecord } from './record.js'
import { afterGrant, beforeGrant, needsProbe, needsReread } from './refresh-policy.js'

/** What to refresh, and from which record. */
export interface RefreshRequest {
  /** The record the caller holds: a refresh another tab made since is adopted, not repeated. */
  held: SessionRecord
  /** A token newer than the held one is wanted, backoff or not. */
  force: boolean
  /** The API (RFC 8707 resource) whose token to refresh; the session's own without one. */
  resource?: string | undefined
}

/** How a refresh transaction ended. */
export type RefreshOutcome =
  /** Another tab or the worker had refreshed, a newer sign-in replaced the session, or every tab waits for the retry time. */
  | { kind: 'adopted'; record: SessionRecord }
  /** Committed; `storageError` when the store did not take it (it is kept in memory and travels to the other tabs). */
  | { kind: 'refreshed'; record: SessionRecord; storageError?: AuthError | undefined }
  /** The provider could not refresh now; the session is kept and `record` holds the shared backoff. */
  | { kind: 'failed'; record: SessionRecord; error: AuthError }
  /** The provider refused the token of one API; the session is untouched. */
  | { kind: 'refused'; error: AuthError }
  | { kind: 'ended'; reason: SignedOutReason; error: AuthError; generation: string }
  /** The page's own unload cut the request off: nothing was recorded, the next page goes on from the stored record. */
  | { kind: 'interrupted'; error: AuthError }

/** What the transaction works with: the session's store, lock and channel, the clock, and the provider. */
export interface RefreshContext {
  config: Pick<ResolvedConfig, 'refreshLeewaySeconds' | 'dpop'>
  env: Pick<AuthEnvironment, 'now' | 'random'>
  records: RecordStore
  tabs: Pick<TabSync<SessionMessage>, 'withLock' | 'announce'>
  /** The protocol steps; their code may load now (rejects with `chunk_load_failed`). */
  provider(): Promise<RefreshSteps>
  /** Whether the page is being unloaded; a worker, which outlives pages, has none. */
  unloading?: (() => boolean) | undefined
}

/**
 * Runs one refresh of the session (of one API's token with `resource`) inside the session's Web
 * Lock: N tabs and the refresh worker make one grant between them.
 *
 * @throws AuthError `chunk_load_failed` when the protocol code cannot be loaded (nothing changed).
 */
export function runRefresh(context: RefreshContext, request: RefreshRequest): Promise<RefreshOutcome> {
  return context.tabs.withLock(() => transact(context, request))
}

async function transact(context: RefreshContext, request: RefreshRequest): Promise<RefreshOutcome> {
  const { held, force, resource } = request
  // Inside the lock the store is the truth: another tab may have refreshed, failed, signed out or
  // signed in while this one waited, and asking again would present a rotated refresh token.
  const latest = await readLatest(context.records, held)
  const now = context.env.now()
  const { dpop, refreshLeewaySeconds: leewaySeconds } = context.config
  const before = beforeGrant({ latest, held, force, resource, dpop, now, leewaySeconds })
  switch (before.kind) {
    case 'adopt':
      return { kind: 'adopted', record: before.record }
    case 'gone': {
      // Ended by another tab — or by this very store (the refresh worker), whose reason the caller hears.
      const reason = context.records.endReason(held.generation) ?? 'other-tab'
      return { kind: 'ended', reason, error: endedElsewhere(), generation: held.generation }
    }
    case 'end':
      return end(context, before.reason, before.error, latest?.generation ?? held.generation)
    case 'grant':
      return grant(context, await context.provider(), before.record, resource)
  }
}

/** Asks the provider with `from`'s refresh token and performs what its answer means. */
async function grant(
  context: RefreshContext,
  provider: RefreshSteps,
  from: SessionRecord,
  resource: string | undefined,
  retried = false,
): Promise<RefreshOutcome> {
  const result = await provider.refresh(from, resource)
  // A tab without Web Locks may have rotated the token meanwhile: read once more before giving up.
  const reread = !retried && needsReread(result) ? await readLatest(context.records, from) : undefined
  const providerAnswers = needsProbe(from, result) ? await provider.answers() : undefined
  const { now, random } = context.env
  const unloading = context.unloading?.()
  const after = afterGrant({
    latest: from,
    result,
    resource,
    now: now(),
    random: random(),
    reread,
    providerAnswers,
    unloading,
  })
  switch (after.kind) {
    case 'commit':
      return commit(context, provider, after.record, from, (record, storageError) => ({
        kind: 'refreshed',
        record,
        storageError,
      }))
    case 'backoff':
      return commit(context, provider, after.record, from, (record) => ({ kind: 'failed', record, error: after.error }))
    case 'retry':
      return grant(context, provider, after.record, resource, true)
    case 'refuse':
      return { kind: 'refused', error: after.error }
    case 'abandon':
      return { kind: 'interrupted', error: after.error }
    case 'end': {
      const outcome = await end(context, after.reason, after.error, from.generation)
      // The provider replaced the refresh token with one that cannot be trusted: it must not stay usable.
      if (after.revoke !== undefined) await provider.revoke(after.revoke).catch(() => false)
      return outcome
    }
  }
}

/** Compare-and-set of `next` over `expected`, announced; on a store that changed meanwhile, what it holds now. */
async function commit(
  context: RefreshContext,
  provider: RefreshSteps,
  next: SessionRecord,
  expected: SessionRecord,
  committed: (record: SessionRecord, storageError: AuthError | undefined) => RefreshOutcome,
): Promise<RefreshOutcome> {
  const result = await context.records.commit(next, expected)
  if (result.kind !== 'stale') {
    context.tabs.announce(updateMessage(next, result.kind === 'unpersisted'))
    return committed(next, result.kind === 'unpersisted' ? result.error : undefined)
  }
  // Signed out, or changed by a writer without the lock, while the provider answered: a refresh
  // token it has just rotated to is stored nowhere, so it must not stay usable.
  const rotated = next.tokens.refreshToken !== expected.tokens.refreshToken ? next.tokens.refreshToken : undefined
  if (rotated !== undefined) await provider.revoke(rotated).catch(() => false)
  const now = await readLatest(context.records, undefined)
  if (now !== undefined) return { kind: 'adopted', record: now }
  return { kind: 'ended', reason: 'other-tab', error: endedElsewhere(), generation: expected.generation }
}

async function end(
  context: RefreshContext,
  reason: SignedOutReason,
  error: AuthError,
  generation: string,
): Promise<RefreshOutcome> {
  await endSession(context.records, context.tabs, { reason, generation })
  return { kind: 'ended', reason, error, generation }
}

/** The stored record; `fallback` when the store cannot be read; `undefined` once it is gone. */
async function readLatest(
  records: RecordStore,
  fallback: SessionRecord | undefined,
): Promise<SessionRecord | undefined> {
  const found = await records.read().catch(() => (fallback ? { kind: 'record' as const, record: fallback } : undefined))
  return found?.kind === 'record' ? found.record : undefined
}

function endedElsewhere(): AuthError {
  return new AuthError(
    'not_signed_in',
    'The session was ended in another tab while it was being refreshed; sign in again.',
  )
}

import type { ResolvedConfig } from '../protocol/config.js'
import type { TabSync } from '../platform/tab-sync.js'
import type { AuthEnvironment } from '../platform/environment.js'
import { AuthError } from '../platform/errors.js'
import type { RecordStore } from './record-store.js'
import type { SessionEvent } from './machine.js'
import type { SessionRecord, StoredSession } from './record.js'
import type { KeyValueStore, StorageKind } from '../platform/storage.js'
import type { SessionMessage } from './messages.js'
import { sessionLapsed } from './token-status.js'

/** What loading needs: the record store, the lock, and the raw store for a 0.1 session's DPoP key. */
export interface LoadDeps {
  config: Pick<ResolvedConfig, 'dpop' | 'legacyDpopKey'>
  env: Pick<AuthEnvironment, 'now'>
  records: RecordStore
  tabs: TabSync<SessionMessage>
  store: KeyValueStore
  storage: StorageKind
}

/**
 * Reads the stored session into the `loaded` event: a readable record as it is; one of the 0.1
 * format carried over; an unreadable one removed (signed out, reason `session-unreadable`); a
 * lapsed one without refresh token removed (reason `expired`).
 *
 * @throws AuthError `storage_error` when the store cannot be read at all.
 */
export async function loadSession(deps: LoadDeps): Promise<SessionEvent> {
  const { records, storage } = deps
  const stored = await records.read()
  if (stored.kind === 'empty') return { type: 'loaded', record: undefined, storage }
  if (stored.kind === 'unreadable')
    return { type: 'loaded', record: undefined, storage, ...(await discard(deps, stored)) }
  const record = stored.migrated ? await migrate(deps, stored.record) : stored.record
  if (sessionLapsed(record, deps.env.now())) {
    await records.remove().catch(() => {})
    return { type: 'loaded', record: undefined, storage, reason: 'expired' }
  }
  return { type: 'loaded', record, storage }
}

async function discard(deps: LoadDeps, stored: Extract<StoredSession, { kind: 'unreadable' }>) {
  const { records } = deps
  // Inside the lock: another tab may be writing a good record at this very moment.
  await deps.tabs.withLock(async () => {
    if ((await records.read().catch(() => stored)).kind === 'unreadable') await records.remove()
  })
  const message = `The stored session could not be read (${stored.detail}), so it was removed; sign in again.`
  return { reason: 'session-unreadable' as const, error: new AuthError('session_unreadable', message) }
}

/**
 * Carries a 0.1 session's DPoP key over: it lived under a key of its own. (The record itself was
 * carried over, and written back, when it was read.)
 */
async function migrate(deps: LoadDeps, record: SessionRecord): Promise<SessionRecord> {
  const { config, store } = deps
  const legacyKey = config.dpop
    ? await store.get<CryptoKeyPair>(config.legacyDpopKey).catch(() => undefined)
    : undefined
  if (legacyKey === undefined) return record
  const migrated: SessionRecord = { ...record, revision: record.revision + 1, dpopKey: legacyKey }
  const committed = await deps.records.commit(migrated, record).catch(() => undefined)
  if (committed?.kind === 'committed') await store.del(config.legacyDpopKey).catch(() => {})
  return committed?.kind === 'stale' ? record : migrated
}

/**
 * Whether another tab or the refresh worker holds the session's lock right now: then a refresh may
 * be about to replace the record just loaded (the page reloaded in the middle of one). Asks the
 * browser's lock manager, which costs nothing; `false` where it cannot tell.
 */
export async function refreshInFlight(env: Pick<AuthEnvironment, 'locks'>, lockName: string): Promise<boolean> {
  const locks = await env.locks?.query?.().catch(() => undefined)
  return locks?.held?.some((lock) => lock.name === lockName) === true
}

/**
 * The two ways a session leaves the store, each under the session's Web Lock so that no refresh
 * in flight can write it back, and each announced to the other tabs. Needed by a page at any
 * moment, so nothing here waits for code that loads later.
 */
import { asAuthError, type AuthError } from '../platform/errors.js'
import type { TabSync } from '../platform/tab-sync.js'
import type { SignedOutReason } from './machine.js'
import type { SessionMessage } from './messages.js'
import type { RecordStore } from './record-store.js'
import type { SessionRecord } from './record.js'

type Tabs = Pick<TabSync<SessionMessage>, 'withLock' | 'announce'>

/**
 * Ends the sign-in `generation` names because of `reason` (the provider refused the refresh token,
 * the DPoP key is gone, …): deletes it unless a newer sign-in replaced it, and tells the other tabs.
 * A store that cannot delete is not an obstacle: every tab is told either way.
 */
export async function endSession(
  records: RecordStore,
  tabs: Tabs,
  end: { reason: SignedOutReason; generation: string },
): Promise<void> {
  await records.remove(end.generation, end.reason).catch(() => {})
  tabs.announce({ type: 'signed-out', generation: end.generation, reason: end.reason })
}

/**
 * Signs out: inside the lock (a refresh in flight finishes first and cannot bring the session
 * back), reads what is stored and deletes it, then tells the other tabs. Resolves the record that
 * was ended (for revoking its refresh token), and the store's failure to delete, if any.
 */
export async function removeSession(
  records: RecordStore,
  tabs: Tabs,
  held: SessionRecord | undefined,
): Promise<{ ended: SessionRecord | undefined; error: AuthError | null }> {
  let ended = held
  let error: AuthError | null = null
  await tabs.withLock(async () => {
    const found = await records.read().catch(() => undefined)
    if (found?.kind === 'record') ended = found.record
    await records.remove().catch((failure: unknown) => void (error = asAuthError(failure, 'storage_error')))
  })
  tabs.announce({ type: 'signed-out', generation: ended?.generation, reason: 'signed-out' })
  return { ended, error }
}

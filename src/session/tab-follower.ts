import type { TabSync } from '../platform/tab-sync.js'
import type { AuthErrorCode } from '../platform/errors.js'
import type { RecordStore } from './record-store.js'
import type { SessionEvent, SignedOutReason } from './machine.js'
import type { SessionRecord } from './record.js'

/**
 * What one tab tells the others about the session. An update names the revision it wrote; it
 * carries the record itself only when the store refused it (the others would otherwise read an
 * older revision and present a refresh token the provider has already rotated). BroadcastChannel
 * reaches the same origin only, like IndexedDB.
 */
export type SessionMessage =
  | { type: 'session-updated'; generation: string; revision: number; record?: SessionRecord }
  | { type: 'signed-out'; generation: string | undefined; reason: SignedOutReason }
  /** A popup's callback page tells its opener how the sign-in `state` names ended. */
  | { type: 'popup-result'; state: string; outcome: PopupOutcome }

/** How a sign-in in a popup ended, as its callback page reports it to the opener. */
export type PopupOutcome =
  { signedIn: true } | { signedIn: false; reason: string } | { error: { code: AuthErrorCode; message: string } }

/**
 * Follows what the other tabs do: an update is read from the store (the announcement only says
 * that something changed); a sign-out in another tab ends the session here with reason
 * `'other-tab'`, and an end the provider caused (`'refresh-rejected'`, …) with that reason.
 * Returns a function that stops following.
 */
export function followTabs(deps: {
  tabs: TabSync<SessionMessage>
  records: RecordStore
  dispatch(event: SessionEvent): void
}): () => void {
  const { tabs, records, dispatch } = deps
  return tabs.listen((message) => {
    if (message.type === 'popup-result') return
    if (message.type === 'signed-out') {
      // A sign-out elsewhere is 'other-tab'; a session the provider ended keeps its reason everywhere.
      const reason = message.reason === 'signed-out' ? 'other-tab' : message.reason
      return dispatch({ type: 'ended', reason, ...generationOf(message) })
    }
    if (message.record) {
      records.accept(message.record)
      return dispatch({ type: 'updated', record: message.record })
    }
    void records.read().then(
      (stored) => {
        if (stored.kind === 'record') dispatch({ type: 'updated', record: stored.record })
        else if (stored.kind === 'empty')
          dispatch({ type: 'ended', reason: 'other-tab', generation: message.generation })
      },
      // The store failed: this tab keeps what it has and tries again at its next refresh.
      () => {},
    )
  })
}

function generationOf(message: { generation: string | undefined }): { generation?: string } {
  return message.generation === undefined ? {} : { generation: message.generation }
}

/**
 * What the tabs of one app tell each other over the session's BroadcastChannel (which reaches the
 * same origin only, like IndexedDB).
 */
import type { AuthErrorCode } from '../platform/errors.js'
import type { SignedOutReason } from './machine.js'
import type { SessionRecord } from './record.js'

/**
 * A message between tabs. An update names the revision it wrote; it carries the record itself
 * only when the store refused it (the others would otherwise read an older revision and present a
 * refresh token the provider has already rotated).
 */
export type SessionMessage =
  | { type: 'session-updated'; generation: string; revision: number; record?: SessionRecord }
  | { type: 'signed-out'; generation: string | undefined; reason: SignedOutReason }
  /** A popup's callback page tells its opener how the sign-in `state` names ended. */
  | { type: 'popup-result'; state: string; outcome: PopupOutcome }

/** How a sign-in in a popup ended, as its callback page reports it to the opener. */
export type PopupOutcome =
  { signedIn: true } | { signedIn: false; reason: string } | { error: { code: AuthErrorCode; message: string } }

/** What a message from another tab means for this one. */
export type News =
  /** That tab ended the session (a sign-out there is `other-tab` here; an end the provider caused keeps its reason). */
  | { kind: 'ended'; reason: SignedOutReason; generation: string | undefined }
  /** A record that tab could not store: take it as it is. */
  | { kind: 'record'; record: SessionRecord }
  /** The stored record changed: read it. */
  | { kind: 'changed'; generation: string }
  | { kind: 'none' }

/** Reads a message from another tab. */
export function newsOf(message: SessionMessage): News {
  switch (message.type) {
    case 'popup-result':
      return { kind: 'none' }
    case 'signed-out': {
      const reason = message.reason === 'signed-out' ? 'other-tab' : message.reason
      return { kind: 'ended', reason, generation: message.generation }
    }
    case 'session-updated':
      return message.record
        ? { kind: 'record', record: message.record }
        : { kind: 'changed', generation: message.generation }
  }
}

/** The announcement of a committed `record`; with the record itself when the store did not take it. */
export function updateMessage(record: SessionRecord, unpersisted: boolean): SessionMessage {
  const { generation, revision } = record
  return unpersisted
    ? { type: 'session-updated', generation, revision, record }
    : { type: 'session-updated', generation, revision }
}

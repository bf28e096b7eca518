/**
 * What a refresh's outcome means for the tab that asked for it: the events its owner dispatches,
 * and what the caller hears. A pure function, so every outcome has its table test.
 */
import type { AuthError } from '../platform/errors.js'
import type { SessionEvent } from './machine.js'
import type { SessionRecord } from './record.js'
import type { RefreshOutcome } from './refresh.js'

export interface Settlement {
  events: SessionEvent[]
  /** The record the caller gets, or the error it hears. */
  result: { record: SessionRecord } | { error: AuthError }
}

/**
 * Settles `outcome`. `own`: the refresh was of the session's own token, whose phase it ends (a
 * refresh of one API's token adopts what it committed and leaves the phase alone).
 */
export function settle(outcome: RefreshOutcome, own: boolean): Settlement {
  switch (outcome.kind) {
    case 'adopted':
    case 'refreshed':
    case 'failed': {
      const { record } = outcome
      const error = outcome.kind === 'failed' ? outcome.error : null
      const events: SessionEvent[] = [own ? { type: 'refresh-finished', record, error } : { type: 'adopted', record }]
      if (outcome.kind === 'refreshed' && outcome.storageError) {
        events.push({ type: 'storage-failed', error: outcome.storageError })
      }
      return { events, result: outcome.kind === 'failed' ? { error: outcome.error } : { record } }
    }
    case 'refused':
    case 'interrupted':
      return {
        events: own ? [{ type: 'refresh-finished', record: undefined, error: null }] : [],
        result: { error: outcome.error },
      }
    case 'ended': {
      const { reason, error, generation } = outcome
      return { events: [{ type: 'ended', reason, error, generation }], result: { error } }
    }
  }
}

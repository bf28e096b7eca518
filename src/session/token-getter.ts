/**
 * The token getter's slow path, for a token that is due, expired or missing: join (or start) the
 * one refresh, and while refreshes fail, hand out the token the tab holds as long as it is valid.
 * The hot path — a valid token in memory, handed out without awaiting anything — is the owner's
 * (`Session.accessToken`), decided by `tokenStatus`.
 */
import { AuthError } from '../platform/errors.js'
import type { SnapshotStore } from '../platform/snapshot-store.js'
import type { AuthState } from './machine.js'
import { tokensFor, type SessionRecord } from './record.js'

/** What `getAccessToken()` asks for. */
export interface TokenRequest {
  /** A token newer than the one held, even when that one is still valid. */
  force: boolean
  /** The API (RFC 8707 resource) whose token to get; the session's own without one. */
  resource?: string | undefined
}

/** What the slow path needs of the session. */
export interface TokenSource {
  readonly ready: Promise<void>
  readonly snapshots: SnapshotStore<AuthState>
  current(): SessionRecord | undefined
  refresh(request: TokenRequest & { held: SessionRecord }): Promise<SessionRecord>
  /** Ends a session whose token expired without a refresh token. */
  expire(): Promise<void>
}

/**
 * A valid access token for `request`, after a refresh when needed. `decided` is the record the
 * caller found due: inside the lock the refresh is compared with it rather than with the record
 * held by then, so a refresh another tab made while this tab's code was loading is adopted, not
 * repeated.
 *
 * @throws AuthError `not_signed_in`, or the failure of a refresh once the token held expired.
 */
export async function readToken(
  source: TokenSource,
  request: TokenRequest,
  decided: SessionRecord | undefined,
  now: () => number,
): Promise<string> {
  await source.ready
  const record = source.current()
  if (record === undefined) throw new AuthError('not_signed_in', 'Nobody is signed in; call signIn() first.')
  if (record.tokens.refreshToken === undefined) {
    const own = tokensFor(record, request.resource)
    if (own !== undefined && own.expiresAt > now()) return own.accessToken
    if (request.resource === undefined) await source.expire()
    throw new AuthError('not_signed_in', 'The session expired and the provider issued no refresh token; sign in again.')
  }
  try {
    const next = tokensFor(await source.refresh({ ...request, held: decided ?? record }), request.resource)
    if (next !== undefined && next.expiresAt > now()) return next.accessToken
    throw (
      source.snapshots.get().error ??
      new AuthError('not_signed_in', 'The access token expired and could not be refreshed yet.')
    )
  } catch (error) {
    // A failed refresh that kept the session still leaves a token that is valid for a while.
    const current = source.current()
    const kept = current && tokensFor(current, request.resource)
    if (!request.force && kept !== undefined && kept.expiresAt > now()) return kept.accessToken
    throw error
  }
}

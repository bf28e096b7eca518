/**
 * The token getter: the token in memory while it is outside the refresh leeway, handed out without
 * awaiting anything (the hot path, decided by `tokenStatus`); else the one refresh in flight. While
 * refreshes fail, every tab waits for the shared retry time and hands out the token it holds as
 * long as that is valid.
 */
import { expiredWithoutRefreshToken, notSignedIn } from '../platform/errors.js'
import type { SnapshotStore } from '../platform/snapshot-store.js'
import type { AuthState } from './machine.js'
import { failureError, tokensFor, type SessionRecord } from './record.js'
import { tokenStatus } from './token-status.js'

/** What `getAccessToken()` asks for. */
export interface TokenRequest {
  /** A token newer than the one held, even when that one is still valid. */
  force: boolean
  /** The API (RFC 8707 resource) whose token to get; the session's own without one. */
  resource?: string | undefined
}

/** What the token getter needs of the session. */
export interface TokenSource {
  readonly ready: Promise<void>
  readonly snapshots: SnapshotStore<AuthState>
  current(): SessionRecord | undefined
  refresh(request: TokenRequest & { held: SessionRecord }): Promise<SessionRecord>
  /** Ends a session whose token expired without a refresh token. */
  expire(): Promise<void>
  now(): number
  leewaySeconds: number
}

/** The token in memory for `resource` when it can go out as it is (no refresh due, or none allowed yet), else `undefined`. */
export function freshToken(source: TokenSource, resource: string | undefined): string | undefined {
  const record = source.current()
  if (record === undefined) return undefined
  const status = tokenStatus(record, resource, source.now(), source.leewaySeconds)
  return status.kind === 'fresh' || status.kind === 'waiting' ? status.token : undefined
}

/**
 * A valid access token (for one API with `resource`). Not async on purpose: a valid token in
 * memory is handed out without waiting for anything.
 *
 * @throws AuthError `not_signed_in`, or the failure of a refresh once the token it holds expired.
 */
export function accessToken(source: TokenSource, request: TokenRequest): Promise<string> {
  // Asked before the stored session is read (an app that wants a token as its page loads): decide
  // once it is, so a token still valid in the store goes out as it is, without a refresh.
  if (source.current() === undefined) return source.ready.then(() => handOut(source, request))
  return handOut(source, request)
}

/** The token getter's decision on the record held now: the token in memory, the shared failure, or a refresh. */
function handOut(source: TokenSource, request: TokenRequest): Promise<string> {
  const record = source.current()
  if (!request.force && record !== undefined) {
    const status = tokenStatus(record, request.resource, source.now(), source.leewaySeconds)
    if ((status.kind === 'fresh' || status.kind === 'waiting') && status.token !== undefined) {
      return Promise.resolve(status.token)
    }
    // Refreshes are failing, no tab tries before the shared retry time, and the token has expired.
    if (status.kind === 'waiting') return Promise.reject(failureError(record)!)
  }
  return readToken(source, request, record)
}

/**
 * The slow path: a valid access token for `request`, after a refresh when needed. `decided` is the record the
 * caller found due: inside the lock the refresh is compared with it rather than with the record
 * held by then, so a refresh another tab made while this tab's code was loading is adopted, not
 * repeated.
 *
 * @throws AuthError `not_signed_in`, or the failure of a refresh once the token held expired.
 */
async function readToken(
  source: TokenSource,
  request: TokenRequest,
  decided: SessionRecord | undefined,
): Promise<string> {
  const now = () => source.now()
  await source.ready
  const record = source.current()
  if (record === undefined) throw notSignedIn()
  if (record.tokens.refreshToken === undefined) {
    const own = tokensFor(record, request.resource)
    if (own !== undefined && own.expiresAt > now()) return own.accessToken
    if (request.resource === undefined) await source.expire()
    throw expiredWithoutRefreshToken()
  }
  try {
    const next = tokensFor(await source.refresh({ ...request, held: decided ?? record }), request.resource)
    if (next !== undefined && next.expiresAt > now()) return next.accessToken
    throw source.snapshots.get().error ?? notSignedIn('The access token expired and could not be refreshed yet')
  } catch (error) {
    // A failed refresh that kept the session still leaves a token that is valid for a while.
    const current = source.current()
    const kept = current && tokensFor(current, request.resource)
    if (!request.force && kept !== undefined && kept.expiresAt > now()) return kept.accessToken
    throw error
  }
}

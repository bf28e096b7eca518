/**
 * When a token is good to hand out and when the session must act: pure functions of the record,
 * the clock and the leeway, shared by the token getter's hot path and the machine's one timer, so
 * "fresh or due" is decided in one place.
 */
import type { TokenSet } from '../protocol/token-set.js'
import { tokensFor, type RefreshFailure, type SessionRecord } from './record.js'

/** What `getAccessToken()` can do with the record a tab holds. */
export type TokenStatus =
  /** Outside the refresh leeway: hand it out, no refresh. */
  | { kind: 'fresh'; token: string }
  /** Refreshes are failing and no tab tries before `failure.retryAt`: hand out `token` while it is valid. */
  | { kind: 'waiting'; token: string | undefined; failure: RefreshFailure }
  /** Within the leeway (or missing, for an API's token): join or start the one refresh. */
  | { kind: 'due' }
  /** No refresh token, and the token has expired: the session is over. */
  | { kind: 'expired' }

/**
 * The status of the access token of `record` (for one API with `resource`) at `now` (epoch ms).
 * A token is due `leewaySeconds` before expiry, or a quarter of its life before, whichever is later.
 */
export function tokenStatus(
  record: SessionRecord,
  resource: string | undefined,
  now: number,
  leewaySeconds: number,
): TokenStatus {
  const tokens = tokensFor(record, resource)
  const valid = tokens !== undefined && tokens.expiresAt > now ? tokens.accessToken : undefined
  if (record.tokens.refreshToken === undefined)
    return valid === undefined ? { kind: 'expired' } : { kind: 'fresh', token: valid }
  const { failure } = record
  if (failure !== undefined && now < failure.retryAt) return { kind: 'waiting', token: valid, failure }
  if (failure === undefined && tokens !== undefined && now < refreshDueAt(tokens, leewaySeconds)) {
    return { kind: 'fresh', token: tokens.accessToken }
  }
  return { kind: 'due' }
}

/**
 * Whether the session of `record` is over at `now` (epoch ms): its access token has expired and
 * the provider issued no refresh token to get another. Loading, the planned expiry and the refresh
 * transaction ask this one question (the token getter asks it of each API's token, in
 * `tokenStatus`).
 */
export function sessionLapsed(record: SessionRecord, now: number): boolean {
  return record.tokens.refreshToken === undefined && record.tokens.expiresAt <= now
}

/** The one thing a tab plans for its session: a refresh, or the end of a session without refresh token. */
export interface Plan {
  /** Epoch ms. */
  at: number
  task: 'refresh' | 'expire'
}

/**
 * When this tab next acts for `record`: at the shared retry time while refreshes fail; at expiry
 * when there is no refresh token (the session then ends); else when the token becomes due, a
 * little earlier still by jitter (`random` in [0, 1), at most 5 s or a twentieth of the token's
 * life) so tabs that loaded together do not all wake at once.
 */
export function planFor(record: SessionRecord, leewaySeconds: number, random: number): Plan {
  const { tokens, failure } = record
  if (failure) return { at: failure.retryAt, task: 'refresh' }
  if (tokens.refreshToken === undefined) return { at: tokens.expiresAt, task: 'expire' }
  const jitter = random * Math.min(5_000, (tokens.expiresAt - tokens.issuedAt) / 20)
  return { at: refreshDueAt(tokens, leewaySeconds) - jitter, task: 'refresh' }
}

/**
 * The instant (epoch ms) at which `tokens` should be refreshed: `leewaySeconds` before expiry, but
 * never more than a quarter of the token's lifetime before it, so a short-lived token is used for
 * at least three quarters of its life and a refresh can never loop.
 */
export function refreshDueAt(tokens: Pick<TokenSet, 'issuedAt' | 'expiresAt'>, leewaySeconds: number): number {
  const lifetime = Math.max(0, tokens.expiresAt - tokens.issuedAt)
  return Math.max(tokens.issuedAt, tokens.expiresAt - Math.min(leewaySeconds * 1000, lifetime / 4))
}

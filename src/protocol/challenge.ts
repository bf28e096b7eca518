/**
 * A resource server's `WWW-Authenticate` challenge (RFC 6750 §3 for Bearer, RFC 9449 §7.1 for
 * DPoP), read in one place for the userinfo endpoint and for `auth.fetch`: what the server asks
 * of the client, and the error to report when the client cannot give it.
 */
import type * as oauth from 'oauth4webapi'
import { AuthError } from '../platform/errors.js'

/** What a challenge asks for, when it is something the client can act on. */
export type Challenge =
  /** The token is expired, revoked or no longer trusted (RFC 6750 §3.1): a refreshed one may do. */
  { error: 'invalid_token' }

/** The schemes whose challenges speak of the access token the client sent. */
const TOKEN_SCHEMES = new Set(['bearer', 'dpop'])

/**
 * The first Bearer or DPoP challenge among `challenges` (as oauth4webapi parsed them) whose `error`
 * the client can act on; `undefined` for none (`use_dpop_nonce`, `invalid_request`, no error, …).
 */
export function readChallenge(challenges: readonly oauth.WWWAuthenticateChallenge[]): Challenge | undefined {
  for (const { scheme, parameters } of challenges) {
    if (!TOKEN_SCHEMES.has(scheme)) continue
    if (parameters.error === 'invalid_token') return { error: 'invalid_token' }
  }
  return undefined
}

/**
 * The error for a challenge the client could not satisfy: `server` names who refused ("The userinfo
 * endpoint", an origin), `cause` is what it answered.
 */
export function challengeError(challenge: Challenge, server: string, cause: unknown): AuthError {
  return new AuthError(
    'token_rejected',
    `${server} refused the access token (${challenge.error}, RFC 6750 §3.1) and did not accept a refreshed one either: the provider no longer accepts this session's tokens. Sign in again if it keeps happening.`,
    { cause },
  )
}

/** What a retry after `invalid_token` needs of the session. */
export interface TokenRenewal {
  /** The access token the session holds now (for the API in question). */
  held(): string | undefined
  /** The session's token getter; with `force`, a refresh even while the held token looks valid. */
  accessToken(options: { force: boolean }): Promise<string>
}

/**
 * After a server refused `rejected` with `invalid_token`: the token to send the request once more
 * with, or `undefined` when the session has none newer (no refresh token). When the session already
 * holds another token — a concurrent call or another tab refreshed since the request left — that one
 * is used and nothing is refreshed; else one refresh is forced, which the session runs once for every
 * caller and every tab.
 *
 * @throws AuthError the refresh's codes (`grant_rejected` ends the session, …).
 */
export async function renewRejectedToken(rejected: string, session: TokenRenewal): Promise<string | undefined> {
  // Read and asked in the same turn: the refresh then starts from the record that held `rejected`,
  // so a refresh another tab made meanwhile is adopted inside the lock, not repeated.
  const token = await session.accessToken({ force: session.held() === rejected })
  return token === rejected ? undefined : token
}

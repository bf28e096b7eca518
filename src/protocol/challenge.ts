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
  | { error: 'invalid_token' }
  /** The token lacks a scope (RFC 6750 §3.1); `scope` is the one the server names, when it does. */
  | { error: 'insufficient_scope'; scope?: string }
  /**
   * The sign-in is not strong or recent enough (RFC 9470 §3): `acrValues` (space-separated) and
   * `maxAge` (seconds) say what would do, when the server says.
   */
  | { error: 'insufficient_user_authentication'; acrValues?: string; maxAge?: number }

/** The schemes whose challenges speak of the access token the client sent. */
const TOKEN_SCHEMES = new Set(['bearer', 'dpop'])

/**
 * The first Bearer or DPoP challenge among `challenges` (as oauth4webapi parsed them) whose `error`
 * the client can act on; `undefined` for none (`use_dpop_nonce`, `invalid_request`, no error, …).
 */
export function readChallenge(challenges: readonly oauth.WWWAuthenticateChallenge[]): Challenge | undefined {
  for (const { scheme, parameters } of challenges) {
    if (!TOKEN_SCHEMES.has(scheme)) continue
    const { error, scope } = parameters
    if (error === 'invalid_token') return { error }
    if (error === 'insufficient_scope') return scope ? { error, scope } : { error }
    if (error === 'insufficient_user_authentication') {
      const challenge: Challenge = { error }
      if (parameters['acr_values']) challenge.acrValues = parameters['acr_values']
      const maxAge = parameters['max_age']
      if (maxAge !== undefined && /^\d+$/.test(maxAge)) challenge.maxAge = Number(maxAge)
      return challenge
    }
  }
  return undefined
}

/**
 * The error for a challenge the client could not satisfy itself: `server` names who refused ("The
 * userinfo endpoint", an origin), `cause` is what it answered. The scope, `acr_values` and `max_age`
 * it asked for go on the error, for the app's next sign-in.
 */
export function challengeError(challenge: Challenge, server: string, cause: unknown): AuthError {
  switch (challenge.error) {
    case 'invalid_token':
      return new AuthError(
        'token_rejected',
        `${server} refused the access token (invalid_token, RFC 6750 §3.1) and did not accept a refreshed one either: the provider no longer accepts this session's tokens. Sign in again if it keeps happening.`,
        { cause },
      )
    case 'insufficient_scope': {
      const { scope } = challenge
      const needs = scope === undefined ? 'a scope' : `the scope "${scope}"`
      return new AuthError(
        'insufficient_scope',
        `${server} needs ${needs}, which the access token lacks (insufficient_scope, RFC 6750 §3.1). Ask for it at the sign-in: add it to scope (error.scope holds it).`,
        { cause, scope },
      )
    }
    case 'insufficient_user_authentication': {
      const { acrValues, maxAge } = challenge
      const asked = [
        acrValues === undefined ? '' : `acr_values "${acrValues}"`,
        maxAge === undefined ? '' : `max_age ${maxAge} s`,
      ].filter(Boolean)
      const which = asked.length === 0 ? '' : ` (${asked.join(', ')})`
      return new AuthError(
        'step_up_required',
        `${server} asks for a stronger or more recent sign-in${which} (insufficient_user_authentication, RFC 9470). Sign in again with them: signIn({ authorizeParams: { acr_values, max_age } }) from error.acrValues and error.maxAge.`,
        { cause, acrValues, maxAge },
      )
    }
  }
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

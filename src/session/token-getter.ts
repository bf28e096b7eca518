import type { ResolvedConfig } from '../protocol/config.js'
import type { AuthEnvironment } from '../platform/environment.js'
import { AuthError } from '../platform/errors.js'
import type { RefreshOptions } from './refresher.js'
import type { SessionState } from './machine.js'
import { tokensFor, type SessionRecord } from './record.js'
import { refreshDueAt } from '../protocol/token-set.js'

/**
 * The token getter: the token in memory while it is outside the refresh leeway,
 * handed out without awaiting anything (the hot path); else the one refresh in flight. While
 * refreshes fail, every tab waits for the shared retry time and hands out the token it holds as
 * long as that is valid.
 *
 * @throws AuthError `not_signed_in`, or the failure of a refresh once the token it holds expired.
 */
export function createTokenGetter(deps: {
  config: Pick<ResolvedConfig, 'refreshLeewaySeconds'>
  env: Pick<AuthEnvironment, 'now'>
  state(): SessionState
  /** Resolves once the stored session is loaded. */
  ready: Promise<unknown>
  refresh(options: RefreshOptions): Promise<SessionRecord>
  /** Ends a session whose token expired without a refresh token. */
  expire(): Promise<void>
}): (options: RefreshOptions) => Promise<string> {
  const { config, env, state } = deps

  /** `decided`: the record the caller found due (`undefined` before the session was loaded). */
  async function slow(options: RefreshOptions, decided: SessionRecord | undefined): Promise<string> {
    await deps.ready
    const record = state().record
    if (record === undefined) throw new AuthError('not_signed_in', 'Nobody is signed in; call signIn() first.')
    if (record.tokens.refreshToken === undefined) {
      const own = tokensFor(record, options.resource)
      if (own !== undefined && own.expiresAt > env.now()) return own.accessToken
      if (options.resource === undefined) await deps.expire()
      throw new AuthError(
        'not_signed_in',
        'The session expired and the provider issued no refresh token; sign in again.',
      )
    }
    try {
      // Compared, inside the lock, with the record found due rather than the one held by then: a
      // refresh another tab made while this tab's code was loading is adopted, not repeated.
      const seen = decided ?? record
      const next = tokensFor(await deps.refresh({ ...options, seen }), options.resource)
      if (next !== undefined && next.expiresAt > env.now()) return next.accessToken
      throw state().error ?? new AuthError('not_signed_in', 'The access token expired and could not be refreshed yet.')
    } catch (error) {
      // A failed refresh that kept the session still leaves a token that is valid for a while.
      const current = state().record
      const kept = current && tokensFor(current, options.resource)
      if (!options.force && kept !== undefined && kept.expiresAt > env.now()) return kept.accessToken
      throw error
    }
  }

  // Not async on purpose: a valid token in memory is handed out without waiting for anything.
  return (options) => {
    const record = state().record
    const now = env.now()
    const tokens = record && tokensFor(record, options.resource)
    if (record !== undefined && tokens !== undefined && !options.force) {
      const { failure } = record
      if (failure === undefined && now < refreshDueAt(tokens, config.refreshLeewaySeconds)) {
        return Promise.resolve(tokens.accessToken)
      }
      if (failure !== undefined && now < failure.retryAt) {
        return tokens.expiresAt > now
          ? Promise.resolve(tokens.accessToken)
          : Promise.reject(state().error ?? new AuthError(failure.code, failure.message))
      }
    }
    return slow(options, record)
  }
}

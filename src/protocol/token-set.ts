import type { IDToken, TokenEndpointResponse } from 'oauth4webapi'

/**
 * Validated ID-token claims of the signed-in user, with the OIDC Core §5.1 standard claims typed
 * for the places an app shows them (any of them may be absent).
 */
export type UserClaims = IDToken & {
  readonly name?: string
  readonly given_name?: string
  readonly family_name?: string
  readonly nickname?: string
  readonly preferred_username?: string
  readonly picture?: string
  readonly email?: string
  readonly email_verified?: boolean
  readonly phone_number?: string
  readonly locale?: string
}

/** The tokens of one session, with the expiry as an epoch-millisecond instant. */
export interface TokenSet {
  accessToken: string
  /** Lowercase token type: `'bearer'` or `'dpop'`. */
  tokenType: string
  refreshToken: string | undefined
  idToken: string | undefined
  /** When the access token was received (epoch ms). */
  issuedAt: number
  /** When the access token expires (epoch ms). */
  expiresAt: number
  scope: string | undefined
}

/** Used when the provider states no lifetime at all: short, so a refresh comes early rather than late. */
export const DEFAULT_LIFETIME_SECONDS = 300

function positiveSeconds(value: unknown): number | undefined {
  const seconds = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? seconds : undefined
}

/**
 * The lifetime (seconds) of a JWT access token, read without trusting it for anything but
 * scheduling. `exp − iat` needs no agreement between the provider's clock and this one; without
 * `iat`, `exp` counts only when it is still ahead of `now`.
 */
function jwtLifetime(token: string, now: number): number | undefined {
  const parts = token.split('.')
  if (parts.length !== 3 || parts[1] === undefined) return undefined
  try {
    const { exp, iat } = JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'))) as {
      exp?: unknown
      iat?: unknown
    }
    if (typeof exp !== 'number') return undefined
    return positiveSeconds(typeof iat === 'number' ? exp - iat : exp - now / 1000)
  } catch {
    return undefined
  }
}

/**
 * Builds a {@link TokenSet} from a processed token response received at `now` (epoch ms).
 *
 * Expiry follows Authing's documented shapes: `expires_in`, else `expire_in`, else the JWT access
 * token's `exp` (as a lifetime, `exp − iat`, so clock skew cannot make it expire on arrival), else {@link DEFAULT_LIFETIME_SECONDS}. A refresh response that omits the refresh
 * or ID token keeps the previous ones (providers that do not rotate may leave them out).
 */
export function tokenSetFromResponse(response: TokenEndpointResponse, now: number, previous?: TokenSet): TokenSet {
  const lifetime =
    positiveSeconds(response.expires_in) ??
    positiveSeconds(response['expire_in']) ??
    jwtLifetime(response.access_token, now) ??
    DEFAULT_LIFETIME_SECONDS
  return {
    accessToken: response.access_token,
    tokenType: response.token_type,
    refreshToken: response.refresh_token ?? previous?.refreshToken,
    idToken: response.id_token ?? previous?.idToken,
    issuedAt: now,
    expiresAt: now + lifetime * 1000,
    scope: response.scope ?? previous?.scope,
  }
}

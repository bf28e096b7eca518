/**
 * What the test provider has issued and what is still good: authorization codes (single use),
 * access tokens, refresh tokens with rotation and reuse detection, and the grants they belong to.
 * Times are epoch milliseconds on the provider's clock, passed in; nothing here reads a clock.
 */
import { randomValue } from './jws.js'

/** The user a test signs in: `sub` and any other claims, which go into the ID token and userinfo. */
export interface TestUser {
  sub: string
  name?: string
  email?: string
  [claim: string]: unknown
}

/** One user's consent to one client: every code and token issued from one sign-in. */
export interface Grant {
  readonly id: string
  readonly clientId: string
  readonly user: TestUser
  /** The scope granted; has `offline_access` only when a refresh token may be issued. */
  readonly scope: string
  /** When the user signed in, epoch seconds (the ID token's `auth_time`). */
  readonly authTime: number
  revoked: boolean
}

/** What the code exchange must match (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 9449 §10). */
export interface IssuedCode {
  readonly grant: Grant
  readonly redirectUri: string
  readonly codeChallenge: string
  readonly nonce: string | undefined
  /** `dpop_jkt` of the authorization request, when the client bound the code to its key. */
  readonly jkt: string | undefined
  readonly expiresAt: number
  used: boolean
}

/** An access or refresh token and what it is bound to. */
export interface IssuedToken {
  readonly grant: Grant
  readonly expiresAt: number
  /** How long it lives from its issue, ms. */
  readonly lifetimeMs: number
  /** The DPoP key thumbprint the token is bound to (`cnf.jkt`), or `undefined` for a bearer token. */
  readonly jkt: string | undefined
  /** A refresh token that was exchanged for a new one (rotation); presenting it again is reuse. */
  rotated: boolean
}

/** How long the test provider's codes live: Authing's ten minutes. */
export const CODE_LIFETIME_MS = 10 * 60_000

/** The outcome of redeeming a code or a refresh token: the record, or why it was refused. */
export type Redeemed<T> = { ok: true; value: T } | { ok: false; reason: string }

/** What an access token that checked out says: whose it is, for what, and how it was sent. */
export interface AccessTokenInfo {
  sub: string
  /** The claims of the user the token was issued to. */
  user: TestUser
  scope: string
  clientId: string
  /** `'DPoP'` for a sender-constrained token sent with a valid proof. */
  tokenType: 'Bearer' | 'DPoP'
  /** Epoch ms. */
  expiresAt: number
}

/** Creates the provider's ledger of grants, codes and tokens. */
export function createGrantLedger() {
  const codes = new Map<string, IssuedCode>()
  const accessTokens = new Map<string, IssuedToken>()
  const refreshTokens = new Map<string, IssuedToken>()

  function live<T extends { grant: Grant; expiresAt: number }>(record: T | undefined, now: number): T | undefined {
    return record && !record.grant.revoked && record.expiresAt > now ? record : undefined
  }

  return {
    /** Starts a grant and issues its authorization code. */
    issueCode(
      grant: Omit<Grant, 'id' | 'revoked'>,
      binding: Omit<IssuedCode, 'grant' | 'used' | 'expiresAt'>,
      now: number,
    ): string {
      const code = randomValue()
      const record = { ...grant, id: randomValue(8), revoked: false }
      codes.set(code, { ...binding, grant: record, expiresAt: now + CODE_LIFETIME_MS, used: false })
      return code
    },

    /**
     * Takes a code, once. A second use revokes everything the first one issued, as RFC 6749 §4.1.2
     * recommends and oidc-provider does: a replayed code means it leaked.
     */
    redeemCode(code: string, now: number): Redeemed<IssuedCode> {
      const record = codes.get(code)
      if (record === undefined) return { ok: false, reason: 'the authorization code is unknown' }
      if (record.used) {
        record.grant.revoked = true
        return { ok: false, reason: 'the authorization code was already used; its grant is revoked' }
      }
      record.used = true
      if (live(record, now) === undefined) return { ok: false, reason: 'the authorization code has expired' }
      return { ok: true, value: record }
    },

    /** Issues an access token (and a refresh token when `refreshTtlMs` is given) for `grant`. */
    issueTokens(
      grant: Grant,
      input: { jkt: string | undefined; accessTtlMs: number; refreshTtlMs: number | undefined },
      now: number,
    ): { accessToken: string; refreshToken: string | undefined } {
      const accessToken = randomValue()
      accessTokens.set(accessToken, {
        ...{ grant, jkt: input.jkt, rotated: false },
        ...{ expiresAt: now + input.accessTtlMs, lifetimeMs: input.accessTtlMs },
      })
      if (input.refreshTtlMs === undefined) return { accessToken, refreshToken: undefined }
      const refreshToken = randomValue()
      refreshTokens.set(refreshToken, {
        ...{ grant, jkt: input.jkt, rotated: false },
        ...{ expiresAt: now + input.refreshTtlMs, lifetimeMs: input.refreshTtlMs },
      })
      return { accessToken, refreshToken }
    },

    /**
     * Takes a refresh token for a refresh, checking its DPoP binding first. With `rotate`, the token is spent; presenting a spent
     * token again is reuse, which revokes the whole grant (every tab's newest tokens too), as
     * oidc-provider does (RFC 9700 §4.14.2).
     */
    redeemRefreshToken(
      token: string,
      input: { rotate: boolean; jkt: string | undefined },
      now: number,
    ): Redeemed<IssuedToken> {
      const record = refreshTokens.get(token)
      if (record === undefined) return { ok: false, reason: 'the refresh token is unknown' }
      // RFC 9449 §5: a refresh token bound to a key is worthless without a proof from that key.
      if (record.jkt !== undefined && record.jkt !== input.jkt) {
        return { ok: false, reason: 'the refresh token is bound to another DPoP key' }
      }
      if (record.rotated) {
        record.grant.revoked = true
        return { ok: false, reason: 'the refresh token was already used (rotated); its grant is revoked' }
      }
      if (record.grant.revoked) return { ok: false, reason: 'the grant was revoked' }
      if (live(record, now) === undefined) return { ok: false, reason: 'the refresh token has expired' }
      if (input.rotate) record.rotated = true
      return { ok: true, value: record }
    },

    /** The access token's record while it is valid (not expired, grant not revoked). */
    findAccessToken(token: string, now: number): IssuedToken | undefined {
      return live(accessTokens.get(token), now)
    },

    /**
     * Revokes `token` (RFC 7009 §2.1): a refresh token takes its grant with it, access tokens
     * included; an access token is revoked alone. Unknown tokens are ignored (§2.2).
     */
    revokeToken(token: string): void {
      const refresh = refreshTokens.get(token)
      if (refresh !== undefined) refresh.grant.revoked = true
      accessTokens.delete(token)
    },

    /** Revokes every grant, or those of the user `sub`; returns how many were live. */
    revokeGrants(sub?: string): number {
      const grants = new Set(
        [...codes.values(), ...accessTokens.values(), ...refreshTokens.values()].map((r) => r.grant),
      )
      let revoked = 0
      for (const grant of grants) {
        if (grant.revoked || (sub !== undefined && grant.user.sub !== sub)) continue
        grant.revoked = true
        revoked++
      }
      return revoked
    },

    /** The longest lifetime (ms) among the access tokens still valid at `now`, or `undefined` when none is. */
    longestAccessTokenLifetime(now: number): number | undefined {
      let longest: number | undefined
      for (const record of accessTokens.values()) {
        if (live(record, now) && (longest === undefined || record.lifetimeMs > longest)) longest = record.lifetimeMs
      }
      return longest
    },
  }
}

/** The provider's ledger. */
export type GrantLedger = ReturnType<typeof createGrantLedger>

import type { TokenEndpointResponse } from 'oauth4webapi'
import { describe, expect, it } from 'vitest'
import { tokenSetFromResponse, type TokenSet } from '../../src/protocol/token-set.js'
import { refreshDueAt } from '../../src/session/token-status.js'

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0)

function tokenResponse(fields: Record<string, string | number> = {}): TokenEndpointResponse {
  return { access_token: 'opaque-access-token', token_type: 'bearer', ...fields }
}

/** An unsigned JWT: enough for a value that is only read for scheduling. */
function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'none', typ: 'at+jwt' })}.${part(claims)}.`
}

describe('tokenSetFromResponse', () => {
  it('expires the access token expires_in seconds after the response was received', () => {
    const tokens = tokenSetFromResponse(tokenResponse({ expires_in: 7200 }), NOW)

    expect(tokens.issuedAt).toBe(NOW)
    expect(tokens.expiresAt).toBe(NOW + 7_200_000)
  })

  it("reads Authing's expire_in when it is a number", () => {
    expect(tokenSetFromResponse(tokenResponse({ expire_in: 1209 }), NOW).expiresAt).toBe(NOW + 1_209_000)
  })

  it("reads Authing's expire_in when it is a numeric string", () => {
    expect(tokenSetFromResponse(tokenResponse({ expire_in: '1209' }), NOW).expiresAt).toBe(NOW + 1_209_000)
  })

  it('prefers expires_in over expire_in', () => {
    expect(tokenSetFromResponse(tokenResponse({ expires_in: 60, expire_in: 3600 }), NOW).expiresAt).toBe(NOW + 60_000)
  })

  it('takes the exp claim of a JWT access token when the response states no lifetime', () => {
    const exp = NOW / 1000 + 900
    const response = tokenResponse({ access_token: unsignedJwt({ sub: 'user-1', exp }) })

    expect(tokenSetFromResponse(response, NOW).expiresAt).toBe(exp * 1000)
  })

  it('assumes a 300-second lifetime when neither the response nor the access token states one', () => {
    expect(tokenSetFromResponse(tokenResponse(), NOW).expiresAt).toBe(NOW + 300_000)
  })

  it('takes exp − iat of a JWT access token as its lifetime, whatever this clock says', () => {
    const providerNow = NOW / 1000 - 7200 // this browser's clock runs two hours ahead
    const response = tokenResponse({ access_token: unsignedJwt({ iat: providerNow, exp: providerNow + 3600 }) })
    expect(tokenSetFromResponse(response, NOW).expiresAt).toBe(NOW + 3_600_000)
  })

  it('refreshes a JWT access token whose exp is already past on this clock no earlier than it was received', () => {
    const response = tokenResponse({ access_token: unsignedJwt({ exp: NOW / 1000 - 3600 }) })
    const tokens = tokenSetFromResponse(response, NOW)
    expect(tokens.expiresAt).toBe(NOW + 300_000)
    expect(refreshDueAt(tokens, 60)).toBeGreaterThan(NOW)
  })

  it('never puts the refresh before the token was received', () => {
    expect(refreshDueAt({ issuedAt: NOW, expiresAt: NOW - 1000 }, 60)).toBe(NOW)
  })

  it("refuses a lifetime with trailing garbage such as '1209abc'", () => {
    expect(tokenSetFromResponse(tokenResponse({ expire_in: '1209abc', access_token: 'opaque' }), NOW).expiresAt).toBe(
      NOW + 300_000,
    )
  })

  it('assumes a 300-second lifetime for a JWT access token without exp', () => {
    const response = tokenResponse({ access_token: unsignedJwt({ sub: 'user-1' }) })

    expect(tokenSetFromResponse(response, NOW).expiresAt).toBe(NOW + 300_000)
  })

  it.each([0, -30, 'soon'])('ignores the unusable lifetime %s and falls back to the default', (expiresIn) => {
    expect(tokenSetFromResponse(tokenResponse({ expire_in: expiresIn }), NOW).expiresAt).toBe(NOW + 300_000)
  })

  it('keeps the tokens, type and scope of the response', () => {
    const tokens = tokenSetFromResponse(
      tokenResponse({
        expires_in: 3600,
        refresh_token: 'rt-1',
        id_token: 'id-1',
        scope: 'openid profile',
        token_type: 'dpop',
      }),
      NOW,
    )

    expect(tokens).toEqual<TokenSet>({
      accessToken: 'opaque-access-token',
      tokenType: 'dpop',
      refreshToken: 'rt-1',
      idToken: 'id-1',
      issuedAt: NOW,
      expiresAt: NOW + 3_600_000,
      scope: 'openid profile',
    })
  })

  it('keeps the previous refresh token, ID token and scope when a refresh response omits them', () => {
    const previous = tokenSetFromResponse(
      tokenResponse({ expires_in: 3600, refresh_token: 'rt-1', id_token: 'id-1', scope: 'openid offline_access' }),
      NOW,
    )
    const later = NOW + 3_000_000

    const refreshed = tokenSetFromResponse(tokenResponse({ access_token: 'at-2', expires_in: 3600 }), later, previous)

    expect(refreshed.accessToken).toBe('at-2')
    expect(refreshed.refreshToken).toBe('rt-1')
    expect(refreshed.idToken).toBe('id-1')
    expect(refreshed.scope).toBe('openid offline_access')
    expect(refreshed.issuedAt).toBe(later)
    expect(refreshed.expiresAt).toBe(later + 3_600_000)
  })

  it('replaces the previous refresh token when the provider rotates it', () => {
    const previous = tokenSetFromResponse(tokenResponse({ expires_in: 3600, refresh_token: 'rt-1' }), NOW)

    const refreshed = tokenSetFromResponse(
      tokenResponse({ expires_in: 3600, refresh_token: 'rt-2' }),
      NOW + 1000,
      previous,
    )

    expect(refreshed.refreshToken).toBe('rt-2')
  })
})

describe('refreshDueAt', () => {
  it('is the leeway before expiry for a long-lived token (60 s before a 2-hour token expires)', () => {
    const tokens = { issuedAt: NOW, expiresAt: NOW + 2 * 3_600_000 }

    expect(refreshDueAt(tokens, 60)).toBe(tokens.expiresAt - 60_000)
  })

  it('is at most a quarter of the lifetime before expiry (3.75 s before a 15-s token expires)', () => {
    const tokens = { issuedAt: NOW, expiresAt: NOW + 15_000 }

    expect(refreshDueAt(tokens, 60)).toBe(tokens.expiresAt - 3_750)
  })

  it('is the expiry itself with a zero leeway', () => {
    const tokens = { issuedAt: NOW, expiresAt: NOW + 3_600_000 }

    expect(refreshDueAt(tokens, 0)).toBe(tokens.expiresAt)
  })

  it.each([0, 1, 4, 1_000, 120_000, 7_200_000])(
    'is never before issuedAt (lifetime %s ms, leeway 1 hour)',
    (lifetimeMs) => {
      const tokens = { issuedAt: NOW, expiresAt: NOW + lifetimeMs }

      const due = refreshDueAt(tokens, 3600)

      expect(due).toBeGreaterThanOrEqual(tokens.issuedAt)
      expect(due).toBeLessThanOrEqual(tokens.expiresAt)
    },
  )
})

import type { SessionRecord } from '../../src/session/record.js'

/** An instant to build records around (epoch ms). */
export const T0 = 1_700_000_000_000

/** A signed-in record of generation `g1`, revision 0: a 1-hour bearer token issued at {@link T0}. */
export function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    v: 1,
    generation: 'g1',
    revision: 0,
    tokens: {
      accessToken: 'at',
      tokenType: 'bearer',
      refreshToken: 'rt',
      idToken: undefined,
      issuedAt: T0,
      expiresAt: T0 + 3_600_000,
      scope: undefined,
    },
    claims: { iss: 'https://op.example', sub: 'alice', aud: 'app', exp: 0, iat: 0 },
    ...overrides,
  }
}

/** `base` with its access token (and refresh token) replaced, as after a refresh: `revision` one higher. */
export function refreshed(base: SessionRecord, accessToken: string, issuedAt = base.tokens.issuedAt): SessionRecord {
  return {
    ...base,
    revision: base.revision + 1,
    tokens: {
      ...base.tokens,
      accessToken,
      refreshToken: `${accessToken}-rt`,
      issuedAt,
      expiresAt: issuedAt + 3_600_000,
    },
  }
}

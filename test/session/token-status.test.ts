import { describe, expect, it } from 'vitest'
import { planFor, sessionLapsed, tokenStatus } from '../../src/session/token-status.js'
import { record, T0 } from '../support/records.js'

describe('tokenStatus: what getAccessToken() can do with the record a tab holds', () => {
  const failure = { attempts: 1, retryAt: T0 + 10_000, code: 'timeout' as const, message: 'm', unanswered: 0 }
  const noRefreshToken = record({ tokens: { ...record().tokens, refreshToken: undefined } })

  it.each([
    ['fresh until the leeway', record(), T0 + 3_539_999, { kind: 'fresh', token: 'at' }],
    ['due within the leeway', record(), T0 + 3_540_000, { kind: 'due' }],
    [
      'waiting for the retry time, the token still valid',
      { ...record(), failure },
      T0 + 5_000,
      { kind: 'waiting', token: 'at' },
    ],
    [
      'waiting, the token expired',
      { ...record(), failure: { ...failure, retryAt: T0 + 4_000_000 } },
      T0 + 3_700_000,
      { kind: 'waiting', token: undefined },
    ],
    ['due once the retry time has come', { ...record(), failure }, T0 + 10_000, { kind: 'due' }],
    ['without refresh token: fresh until expiry', noRefreshToken, T0 + 3_599_999, { kind: 'fresh', token: 'at' }],
    ['without refresh token: expired after it', noRefreshToken, T0 + 3_600_000, { kind: 'expired' }],
  ] as const)('%s', (_, held, now, expected) => {
    expect(tokenStatus(held, undefined, now, 60)).toMatchObject(expected)
  })

  it('is due for an API whose token the tab does not hold yet', () => {
    expect(tokenStatus(record(), 'https://api.example/', T0, 60)).toEqual({ kind: 'due' })
  })

  it('plans a 15-s token a quarter of its life early, never sooner than it was issued', () => {
    const short = record({ tokens: { ...record().tokens, expiresAt: T0 + 15_000 } })
    expect(planFor(short, 60, 0)).toEqual({ at: T0 + 11_250, task: 'refresh' })
    expect(planFor(short, 60, 0.999).at).toBeGreaterThan(T0 + 11_250 - 750)
  })
})

describe('sessionLapsed: whether a session is over', () => {
  const noRefreshToken = record({ tokens: { ...record().tokens, refreshToken: undefined } })

  it.each([
    ['without refresh token, before expiry', noRefreshToken, T0 + 3_599_999, false],
    ['without refresh token, at expiry', noRefreshToken, T0 + 3_600_000, true],
    ['with a refresh token, long after expiry', record(), T0 + 86_400_000, false],
  ] as const)('%s', (_, held, now, expected) => {
    expect(sessionLapsed(held, now)).toBe(expected)
  })
})

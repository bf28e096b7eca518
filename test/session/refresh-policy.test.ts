import { describe, expect, it } from 'vitest'
import { AuthError, type AuthErrorCode } from '../../src/platform/errors.js'
import { afterGrant, beforeGrant, needsProbe, retryDelayMs } from '../../src/session/refresh-policy.js'
import { record, refreshed, T0 } from '../support/records.js'

describe('retryDelayMs', () => {
  it('doubles the ceiling per attempt from 2 s and takes a random share of it (full jitter)', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((attempts) => retryDelayMs({ attempts, random: 0.5, slow: false }))
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000])
  })

  it('caps the ceiling at five minutes and never goes under one second', () => {
    expect(retryDelayMs({ attempts: 30, random: 0.999_999, slow: false })).toBeLessThanOrEqual(300_000)
    expect(retryDelayMs({ attempts: 30, random: 0.999_999, slow: false })).toBeGreaterThan(299_000)
    expect(retryDelayMs({ attempts: 1, random: 0, slow: false })).toBe(1_000)
  })

  it("waits at least the provider's Retry-After", () => {
    expect(retryDelayMs({ attempts: 1, random: 0.5, retryAfterMs: 120_000, slow: false })).toBe(120_000)
  })

  it('waits the longest when the token endpoint is unreachable from this origin', () => {
    expect(retryDelayMs({ attempts: 1, random: 0, slow: true })).toBe(300_000)
  })
})

describe('beforeGrant: what a refresh does inside the lock, with the stored record', () => {
  const held = record()
  const base = { held, force: false, resource: undefined, dpop: false, now: T0 + 3_590_000, leewaySeconds: 60 }
  const waiting = { attempts: 1, retryAt: T0 + 3_595_000, code: 'network_error' as const, message: 'm', unanswered: 1 }
  const noRefreshToken = (expiresAt: number) =>
    record({ tokens: { ...record().tokens, refreshToken: undefined, expiresAt } })

  it.each([
    ['the session is gone from the store', { latest: undefined }, { kind: 'gone' }],
    [
      'another tab refreshed: its token is fresh',
      { latest: refreshed(held, 'theirs', T0 + 3_580_000) },
      { kind: 'adopt' },
    ],
    [
      'a newer sign-in with a fresh token replaced it',
      {
        latest: record({
          generation: 'g2',
          tokens: { ...record().tokens, accessToken: 'new', issuedAt: T0 + 3_580_000, expiresAt: T0 + 7_180_000 },
        }),
      },
      { kind: 'adopt' },
    ],
    ['every tab waits for the shared retry time', { latest: { ...held, failure: waiting } }, { kind: 'adopt' }],
    [
      'a forced refresh does not wait for it',
      { latest: { ...held, failure: waiting }, force: true },
      { kind: 'grant' },
    ],
    ['the stored record is the held one, due', { latest: held }, { kind: 'grant' }],
    [
      'a record another tab wrote that is itself due (a 0.1 tab)',
      { latest: record({ generation: 'legacy', tokens: { ...record().tokens, accessToken: 'old-tab' } }) },
      { kind: 'grant' },
    ],
    ['no refresh token, and the token still valid', { latest: noRefreshToken(T0 + 3_600_000) }, { kind: 'adopt' }],
    ['no refresh token, and the token expired', { latest: noRefreshToken(T0) }, { kind: 'end', reason: 'expired' }],
    ['dpop is on and the key is gone', { latest: held, dpop: true }, { kind: 'end', reason: 'dpop-key-lost' }],
  ] as const)('%s', (_, input, expected) => {
    expect(beforeGrant({ ...base, ...input })).toMatchObject(expected)
  })

  it("compares one API's token when a resource is asked for", () => {
    const withApi = {
      ...held,
      resources: {
        api: { accessToken: 'api-old', tokenType: 'bearer', issuedAt: T0, expiresAt: T0 + 60_000, scope: undefined },
      },
    }
    const renewed = {
      ...withApi,
      revision: 1,
      resources: {
        api: { ...withApi.resources.api, accessToken: 'api-new', issuedAt: T0 + 50_000, expiresAt: T0 + 3_650_000 },
      },
    }
    expect(beforeGrant({ ...base, held: withApi, latest: renewed, resource: 'api', now: T0 + 60_000 })).toMatchObject({
      kind: 'adopt',
    })
    expect(beforeGrant({ ...base, held: withApi, latest: withApi, resource: 'api', now: T0 + 60_000 })).toMatchObject({
      kind: 'grant',
    })
  })
})

describe('afterGrant: what the answer means', () => {
  const latest = record()
  const tokens = {
    ...latest.tokens,
    accessToken: 'new',
    refreshToken: 'rt2',
    issuedAt: T0 + 1_000,
    expiresAt: T0 + 3_601_000,
  }
  const base = { latest, resource: undefined, now: T0 + 1_000, random: 0.5 }
  const failed = (code: AuthErrorCode, retry: 'never' | 'once' | 'backoff' | 'resource', extra = {}) =>
    ({ kind: 'failed', error: new AuthError(code, code), retry, unanswered: false, ...extra }) as const

  it('commits new tokens as the next revision, clearing a failure', () => {
    const after = afterGrant({
      ...base,
      latest: { ...latest, failure: { attempts: 2, retryAt: 0, code: 'timeout', message: 'm', unanswered: 0 } },
      result: { kind: 'refreshed', tokens, claims: latest.claims },
    })
    expect(after).toMatchObject({ kind: 'commit', record: { revision: 1, tokens: { accessToken: 'new' } } })
    expect(after.kind === 'commit' && after.record.failure).toBeUndefined()
  })

  it("commits one API's token beside the session's, with the rotated refresh token", () => {
    const after = afterGrant({ ...base, resource: 'api', result: { kind: 'refreshed', tokens, claims: latest.claims } })
    expect(after).toMatchObject({
      kind: 'commit',
      record: { tokens: { accessToken: 'at', refreshToken: 'rt2' }, resources: { api: { accessToken: 'new' } } },
    })
  })

  it.each([
    [
      'invalid_grant with nothing newer in the store',
      failed('grant_rejected', 'never'),
      {},
      { kind: 'end', reason: 'refresh-rejected', revoke: undefined },
    ],
    [
      'invalid_grant, and the store holds a newer refresh token',
      failed('grant_rejected', 'never'),
      { reread: { ...latest, tokens: { ...latest.tokens, refreshToken: 'rotated-elsewhere' } } },
      { kind: 'retry' },
    ],
    ['the provider refuses the client, the first time', failed('client_rejected', 'once'), {}, { kind: 'backoff' }],
    [
      'the provider refuses the client, the second time in a row',
      failed('client_rejected', 'once'),
      {
        latest: {
          ...latest,
          failure: { attempts: 1, retryAt: 0, code: 'client_rejected' as const, message: 'm', unanswered: 0 },
        },
      },
      { kind: 'end', reason: 'client-rejected' },
    ],
    ['one API is refused', failed('grant_rejected', 'resource'), {}, { kind: 'refuse' }],
    [
      'a 503',
      failed('provider_unavailable', 'backoff'),
      {},
      { kind: 'backoff', record: { revision: 1, failure: { attempts: 1, retryAt: T0 + 2_000 } } },
    ],
  ] as const)('%s', (_, result, extra, expected) => {
    expect(afterGrant({ ...base, result, ...extra })).toMatchObject(expected)
  })

  it('ends and revokes what the provider issued when its answer cannot be trusted', () => {
    const error = new AuthError('subject_changed', 'another user')
    expect(
      afterGrant({ ...base, result: { kind: 'invalid', error, replacedRefreshToken: 'rt-issued' } }),
    ).toMatchObject({ kind: 'end', reason: 'subject-changed', revoke: 'rt-issued' })
    const invalid = new AuthError('token_type_mismatch', 'bearer')
    expect(
      afterGrant({ ...base, result: { kind: 'invalid', error: invalid, replacedRefreshToken: undefined } }),
    ).toMatchObject({ kind: 'end', reason: 'refresh-invalid', revoke: 'rt' })
  })

  it("waits the provider's Retry-After, and names an unreachable token endpoint after two unanswered tries", () => {
    expect(afterGrant({ ...base, result: failed('rate_limited', 'backoff', { retryAfterMs: 120_000 }) })).toMatchObject(
      { record: { failure: { retryAt: T0 + 121_000 } } },
    )
    const unanswered = {
      ...latest,
      failure: { attempts: 1, retryAt: 0, code: 'network_error' as const, message: 'm', unanswered: 1 },
    }
    const result = failed('network_error', 'backoff', { unanswered: true })
    expect(needsProbe(unanswered, result)).toBe(true)
    expect(needsProbe(latest, result)).toBe(false)
    expect(afterGrant({ ...base, latest: unanswered, result, providerAnswers: true })).toMatchObject({
      kind: 'backoff',
      error: { code: 'token_endpoint_unreachable' },
      record: { failure: { retryAt: T0 + 301_000, unanswered: 2 } },
    })
    expect(afterGrant({ ...base, latest: unanswered, result, providerAnswers: false })).toMatchObject({
      error: { code: 'network_error' },
    })
  })
})

describe('afterGrant on a page that is unloading', () => {
  it('abandons a request the unload cut off, and records a real failure otherwise', () => {
    const cutOff = {
      kind: 'failed',
      error: new AuthError('network_error', 'n'),
      retry: 'backoff',
      unanswered: true,
    } as const
    const base = { latest: record(), resource: undefined, now: T0, random: 0.5 }
    expect(afterGrant({ ...base, result: cutOff, unloading: true })).toMatchObject({ kind: 'abandon' })
    expect(afterGrant({ ...base, result: cutOff, unloading: false })).toMatchObject({ kind: 'backoff' })
    const answered = { ...cutOff, error: new AuthError('provider_unavailable', '503'), unanswered: false }
    expect(afterGrant({ ...base, result: answered, unloading: true })).toMatchObject({ kind: 'backoff' })
  })
})

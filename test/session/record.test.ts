import { describe, expect, it } from 'vitest'
import { createRecord, readRecord, reviseRecord, sameRevision, type SessionRecord } from '../../src/session/record.js'

const tokens = {
  accessToken: 'at',
  tokenType: 'bearer',
  refreshToken: 'rt',
  idToken: 'id',
  issuedAt: 1,
  expiresAt: 2,
  scope: 'openid',
}
const claims = { iss: 'https://op.example', sub: 'alice', aud: 'app', exp: 2, iat: 1 }
const current: SessionRecord = createRecord({ generation: 'g1', tokens, claims, dpopKey: undefined })
const newGeneration = () => 'fresh'

describe('readRecord', () => {
  it('reads a current record as it is', () => {
    expect(readRecord(current, newGeneration)).toEqual({ kind: 'record', record: current, migrated: false })
  })

  it('reads nothing as empty', () => {
    expect(readRecord(undefined, newGeneration)).toEqual({ kind: 'empty' })
  })

  it('carries a 0.1 record ({ tokens, claims }) over as a new generation', () => {
    const stored = readRecord({ tokens, claims }, newGeneration)
    expect(stored).toEqual({
      kind: 'record',
      record: { v: 1, generation: 'fresh', revision: 0, tokens, claims },
      migrated: true,
    })
  })

  it.each([
    ['a string', 'garbage', /string/],
    ['an unrelated object', { hello: 'world' }, /no generation|no tokens/],
    ['another version', { ...current, v: 99 }, /version 99/],
    ['a 0.1 record without tokens', { tokens: {}, claims }, /access token/],
    ['a record without claims', { ...current, claims: undefined }, /claims/],
    ['a record whose expiry is not a number', { ...current, tokens: { ...tokens, expiresAt: 'soon' } }, /expiry/],
    ['a record with a DPoP key that is not a key pair', { ...current, dpopKey: 'key' }, /DPoP/],
    ['an array', [current], /no generation|instead/],
  ])('reads %s as unreadable, saying what is wrong', (_, value, detail) => {
    const stored = readRecord(value, newGeneration)
    expect(stored.kind).toBe('unreadable')
    expect(stored.kind === 'unreadable' && stored.detail).toMatch(detail)
  })
})

describe('reviseRecord', () => {
  it('counts the revision up and keeps the generation', () => {
    const next = reviseRecord(current, { tokens: { ...tokens, accessToken: 'at2' } })
    expect(next).toMatchObject({ generation: 'g1', revision: 1, tokens: { accessToken: 'at2' } })
    expect(sameRevision(next, current)).toBe(false)
    expect(sameRevision(next, { ...next })).toBe(true)
  })

  it('drops a failure when given none', () => {
    const failing = reviseRecord(current, {
      failure: { attempts: 1, retryAt: 5, code: 'timeout', message: 'slow', unanswered: 0 },
    })
    expect(failing.failure).toBeDefined()
    expect('failure' in reviseRecord(failing, { failure: undefined })).toBe(false)
  })
})

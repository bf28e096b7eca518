import { describe, expect, it } from 'vitest'
import { isAuthError } from '../../src/platform/errors.js'
import { createRecordStore } from '../../src/session/record-store.js'
import { createRecord, reviseRecord } from '../../src/session/record.js'
import { createMemoryStore, type KeyValueStore } from '../../src/platform/storage.js'

const KEY = 'session:https://op.example|app'
const tokens = {
  accessToken: 'at',
  tokenType: 'bearer',
  refreshToken: 'rt1',
  idToken: undefined,
  issuedAt: 1,
  expiresAt: 2,
  scope: undefined,
}
const claims = { iss: 'https://op.example', sub: 'alice', aud: 'app', exp: 2, iat: 1 }
const first = createRecord({ generation: 'g1', tokens, claims, dpopKey: undefined })
const rotated = reviseRecord(first, { tokens: { ...tokens, refreshToken: 'rt2' } })

/** A memory store whose writes (or reads, or deletes) can be made to fail. */
function flakyStore() {
  const inner = createMemoryStore()
  const failing = { set: false, get: false, del: false }
  const store: KeyValueStore = {
    ...inner,
    get: (key) => (failing.get ? Promise.reject(new Error('read failed')) : inner.get(key)),
    set: (key, value) => (failing.set ? Promise.reject(new Error('quota exceeded')) : inner.set(key, value)),
    del: (key) => (failing.del ? Promise.reject(new Error('blocked')) : inner.del(key)),
  }
  return { store, inner, failing }
}

describe('the session record store', () => {
  it('keeps a record the store refused, and writes it at the next read', async () => {
    const { store, inner, failing } = flakyStore()
    const records = createRecordStore(store, KEY, () => 'g')
    await records.write(first)
    failing.set = true
    await expect(records.write(rotated)).rejects.toSatisfy((error) => isAuthError(error, 'storage_error'))
    expect(records.unpersisted).toBe(rotated)
    // Memory first: the rotated refresh token is what this tab reads, though the store is behind.
    expect(await records.read()).toMatchObject({ kind: 'record', record: { tokens: { refreshToken: 'rt2' } } })

    failing.set = false
    await records.read()
    expect(records.unpersisted).toBeUndefined()
    expect(await inner.get(KEY)).toMatchObject({ revision: 1, tokens: { refreshToken: 'rt2' } })
  })

  it('never brings back a session another tab deleted', async () => {
    const { store, inner, failing } = flakyStore()
    const records = createRecordStore(store, KEY, () => 'g')
    await records.write(first)
    failing.set = true
    await records.write(rotated).catch(() => {})
    failing.set = false
    await inner.del(KEY)
    expect(await records.read()).toEqual({ kind: 'empty' })
    expect(await inner.get(KEY)).toBeUndefined()
  })

  it('keeps a sign-in the store never took in memory', async () => {
    const { store, inner, failing } = flakyStore()
    const records = createRecordStore(store, KEY, () => 'g')
    failing.set = true
    await records.write(first).catch(() => {})
    expect(await records.read()).toMatchObject({ kind: 'record', record: { generation: 'g1' } })
    expect(await inner.get(KEY)).toBeUndefined()
  })

  it('lets a newer sign-in in the store win over an unpersisted record', async () => {
    const { store, inner, failing } = flakyStore()
    const records = createRecordStore(store, KEY, () => 'g')
    await records.write(first)
    failing.set = true
    await records.write(rotated).catch(() => {})
    await inner.set(KEY, createRecord({ generation: 'g2', tokens, claims, dpopKey: undefined }))
    expect(await records.read()).toMatchObject({ kind: 'record', record: { generation: 'g2' } })
    expect(records.unpersisted).toBeUndefined()
  })

  it('answers with the record it knows when the store cannot be read, and fails when it knows none', async () => {
    const { store, failing } = flakyStore()
    const records = createRecordStore(store, KEY, () => 'g')
    failing.get = true
    await expect(records.read()).rejects.toSatisfy((error) => isAuthError(error, 'storage_error'))
    failing.get = false
    await records.write(first)
    failing.get = true
    expect(await records.read()).toMatchObject({ kind: 'record', record: { generation: 'g1' } })
  })

  it('reports a failed delete as storage_error', async () => {
    const { store, failing } = flakyStore()
    const records = createRecordStore(store, KEY, () => 'g')
    await records.write(first)
    failing.del = true
    await expect(records.remove()).rejects.toSatisfy((error) => isAuthError(error, 'storage_error'))
  })

  it("takes another tab's unpersisted record only when it is newer", async () => {
    const records = createRecordStore(createMemoryStore(), KEY, () => 'g')
    await records.write(rotated)
    records.accept(first)
    expect(records.unpersisted).toBeUndefined()
    records.accept(reviseRecord(rotated, {}))
    expect(records.unpersisted?.revision).toBe(2)
  })
})

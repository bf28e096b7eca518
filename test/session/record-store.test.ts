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
    async update(key, updater) {
      const deletes = updater(await inner.get(key)) === undefined
      if (deletes ? failing.del : failing.set) throw new Error(deletes ? 'blocked' : 'quota exceeded')
      return inner.update(key, updater)
    },
  }
  return { store, inner, failing }
}

describe('the session record store', () => {
  it('keeps a record the store refused, and writes it at the next read', async () => {
    const { store, inner, failing } = flakyStore()
    const records = createRecordStore(store, KEY, () => 'g')
    await records.write(first)
    failing.set = true
    const committed = await records.commit(rotated, first)
    expect(committed.kind === 'unpersisted' && isAuthError(committed.error, 'storage_error')).toBe(true)
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
    await records.commit(rotated, first)
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
    await records.commit(rotated, first)
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

  it('commits only over the revision the change started from, in one store step', async () => {
    const inner = createMemoryStore()
    const records = createRecordStore(inner, KEY, () => 'g')
    await records.write(first)
    const theirs = reviseRecord(first, { tokens: { ...tokens, refreshToken: 'rt-theirs' } })
    // Another tab (without the lock) committed first: the store holds revision 1 now.
    expect(await createRecordStore(inner, KEY, () => 'g').commit(theirs, first)).toEqual({ kind: 'committed' })

    expect(await records.commit(rotated, first)).toEqual({ kind: 'stale' })
    expect(await inner.get(KEY)).toMatchObject({ revision: 1, tokens: { refreshToken: 'rt-theirs' } })
  })

  it('lets exactly one of 10 concurrent commits from the same revision through', async () => {
    const inner = createMemoryStore()
    await createRecordStore(inner, KEY, () => 'g').write(first)
    const tabs = Array.from({ length: 10 }, () => createRecordStore(inner, KEY, () => 'g'))

    const results = await Promise.all(
      tabs.map((records, i) =>
        records.commit(reviseRecord(first, { tokens: { ...tokens, refreshToken: `rt-${i}` } }), first),
      ),
    )

    expect(results.filter((result) => result.kind === 'committed')).toHaveLength(1)
    expect(results.filter((result) => result.kind === 'stale')).toHaveLength(9)
  })

  it('deletes only the sign-in it names, and remembers why it ended', async () => {
    const inner = createMemoryStore()
    const records = createRecordStore(inner, KEY, () => 'g')
    await records.write(first)
    await records.remove('another-sign-in', 'refresh-rejected')
    expect(await inner.get(KEY)).toMatchObject({ generation: 'g1' })

    await records.remove('g1', 'refresh-rejected')
    expect(await inner.get(KEY)).toBeUndefined()
    expect(records.endReason('g1')).toBe('refresh-rejected')
    expect(records.endReason('another-sign-in')).toBeUndefined()
  })

  it('gives a record of the 0.1 format one identity: it is written back when first read', async () => {
    const inner = createMemoryStore()
    await inner.set(KEY, { tokens, claims })
    let generations = 0
    const tabs = [1, 2].map(() => createRecordStore(inner, KEY, () => `migrated-${++generations}`))

    const [a, b] = await Promise.all(tabs.map((records) => records.read()))
    const again = await tabs[0]!.read()

    const generationOf = (stored: typeof a) => (stored?.kind === 'record' ? stored.record.generation : undefined)
    expect(generationOf(a)).toBe(generationOf(b))
    expect(generationOf(again)).toBe(generationOf(a))
    expect(await inner.get(KEY)).toMatchObject({ v: 1, generation: generationOf(a), tokens: { refreshToken: 'rt1' } })
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

import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { putSingleUse, takeSingleUse } from '../../src/platform/single-use.js'
import { createIndexedDbStore, createMemoryStore, type KeyValueStore } from '../../src/platform/storage.js'

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0)
const TEN_MINUTES = 600_000
const PREFIX = 'tx:'

describe.each<[string, () => KeyValueStore]>([
  ['memory store', createMemoryStore],
  ['IndexedDB store', createIndexedDbStore],
])('single-use records in a %s', (_, makeStore) => {
  let store: KeyValueStore

  beforeEach(() => {
    vi.stubGlobal('indexedDB', new IDBFactory())
    store = makeStore()
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('hands a record that was put to the first take, with its value', async () => {
    await putSingleUse(store, PREFIX, 'state-1', { codeVerifier: 'v-1' }, NOW, TEN_MINUTES)

    expect(await takeSingleUse(store, PREFIX, 'state-1', NOW + 1000)).toEqual({
      outcome: 'taken',
      value: { codeVerifier: 'v-1' },
    })
  })

  it('reports already-taken to a second take of the same record', async () => {
    await putSingleUse(store, PREFIX, 'state-1', 'value', NOW, TEN_MINUTES)
    await takeSingleUse(store, PREFIX, 'state-1', NOW + 1000)

    expect(await takeSingleUse(store, PREFIX, 'state-1', NOW + 2000)).toEqual({ outcome: 'already-taken' })
  })

  it('reports missing with no others pending for an unknown id when nothing is pending', async () => {
    expect(await takeSingleUse(store, PREFIX, 'unknown', NOW)).toEqual({ outcome: 'missing', othersPending: 0 })
  })

  it('reports missing with one other pending for an unknown id while another record is live', async () => {
    await putSingleUse(store, PREFIX, 'state-1', 'value', NOW, TEN_MINUTES)

    expect(await takeSingleUse(store, PREFIX, 'unknown', NOW + 1000)).toEqual({ outcome: 'missing', othersPending: 1 })
  })

  it('does not count expired, taken or other-prefix records as pending', async () => {
    await putSingleUse(store, PREFIX, 'expired', 'value', NOW, 1000)
    await putSingleUse(store, PREFIX, 'taken', 'value', NOW, TEN_MINUTES)
    await takeSingleUse(store, PREFIX, 'taken', NOW)
    await putSingleUse(store, 'other:', 'live', 'value', NOW, TEN_MINUTES)

    expect(await takeSingleUse(store, PREFIX, 'unknown', NOW + 5000)).toEqual({ outcome: 'missing', othersPending: 0 })
  })

  it('leaves nothing behind when a take finds no record', async () => {
    await takeSingleUse(store, PREFIX, 'unknown', NOW)

    expect(await store.keys()).toEqual([])
  })

  it('still hands out a record one millisecond before its lifetime ends', async () => {
    await putSingleUse(store, PREFIX, 'state-1', 'value', NOW, TEN_MINUTES)

    expect(await takeSingleUse(store, PREFIX, 'state-1', NOW + TEN_MINUTES - 1)).toEqual({
      outcome: 'taken',
      value: 'value',
    })
  })

  it('reports expired for a take when the lifetime has ended', async () => {
    await putSingleUse(store, PREFIX, 'state-1', 'value', NOW, TEN_MINUTES)

    expect(await takeSingleUse(store, PREFIX, 'state-1', NOW + TEN_MINUTES)).toEqual({ outcome: 'expired' })
  })

  it('sweeps records of its prefix that ended over a day ago, and leaves other prefixes alone', async () => {
    const DAY = 24 * 60 * 60_000
    await putSingleUse(store, PREFIX, 'old', 'value', NOW, 1000)
    await putSingleUse(store, PREFIX, 'young', 'value', NOW, TEN_MINUTES)
    await putSingleUse(store, 'other:', 'old', 'value', NOW, 1000)
    await store.set('session:x', { sub: 'user-1' })

    await putSingleUse(store, PREFIX, 'new', 'value', NOW + DAY + 5000, TEN_MINUTES)

    expect((await store.keys()).sort()).toEqual(['other:old', 'session:x', 'tx:new', 'tx:young'])
  })

  it('still calls a late record expired, and a late replay already taken, after another one was put', async () => {
    await putSingleUse(store, PREFIX, 'late', 'value', NOW, TEN_MINUTES)
    await putSingleUse(store, PREFIX, 'used', 'value', NOW, TEN_MINUTES)
    await takeSingleUse(store, PREFIX, 'used', NOW + 1000)

    await putSingleUse(store, PREFIX, 'next', 'value', NOW + 2 * TEN_MINUTES, TEN_MINUTES)

    expect(await takeSingleUse(store, PREFIX, 'late', NOW + 2 * TEN_MINUTES + 1000)).toEqual({ outcome: 'expired' })
    expect(await takeSingleUse(store, PREFIX, 'used', NOW + 2 * TEN_MINUTES + 1000)).toEqual({
      outcome: 'already-taken',
    })
  })

  it('hands a record to exactly one of two concurrent takes', async () => {
    await putSingleUse(store, PREFIX, 'state-1', 'value', NOW, TEN_MINUTES)

    const results = await Promise.all([
      takeSingleUse(store, PREFIX, 'state-1', NOW + 1000),
      takeSingleUse(store, PREFIX, 'state-1', NOW + 1000),
    ])

    expect(results.map((result) => result.outcome).sort()).toEqual(['already-taken', 'taken'])
  })
})

describe('single-use records shared by two tabs through IndexedDB', () => {
  beforeEach(() => {
    vi.stubGlobal('indexedDB', new IDBFactory())
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('hands a record to exactly one of two tabs taking it at once', async () => {
    const firstTab = createIndexedDbStore()
    const secondTab = createIndexedDbStore()
    await putSingleUse(firstTab, PREFIX, 'state-1', 'value', NOW, TEN_MINUTES)

    const results = await Promise.all([
      takeSingleUse(firstTab, PREFIX, 'state-1', NOW + 1000),
      takeSingleUse(secondTab, PREFIX, 'state-1', NOW + 1000),
    ])

    expect(results.map((result) => result.outcome).sort()).toEqual(['already-taken', 'taken'])
  })
})

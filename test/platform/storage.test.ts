import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  createIndexedDbStore,
  createMemoryStore,
  openDefaultStore,
  type KeyValueStore,
} from '../../src/platform/storage.js'

/** The contract every {@link KeyValueStore} adapter must keep. */
function describeStore(name: string, makeStore: () => KeyValueStore): void {
  describe(`${name} (KeyValueStore contract)`, () => {
    it('gets undefined for a key that was never set', async () => {
      expect(await makeStore().get('missing')).toBeUndefined()
    })

    it('gets back a nested object that was set', async () => {
      const store = makeStore()
      const value = {
        user: { sub: 'user-1', roles: ['admin', 'ops'] },
        expiresAt: 1_700_000_000_000,
        refreshToken: undefined,
      }

      await store.set('session', value)

      expect(await store.get('session')).toEqual(value)
    })

    it('overwrites the value of a key that is set again', async () => {
      const store = makeStore()

      await store.set('k', 1)
      await store.set('k', 2)

      expect(await store.get('k')).toBe(2)
    })

    it('keeps a copy, so changing the object that was set does not change the store', async () => {
      const store = makeStore()
      const value = { tokens: { accessToken: 'at-1' } }

      await store.set('session', value)
      value.tokens.accessToken = 'changed'

      expect(await store.get('session')).toEqual({ tokens: { accessToken: 'at-1' } })
    })

    it('hands out copies, so changing an object that was got does not change the store', async () => {
      const store = makeStore()
      await store.set('session', { tokens: { accessToken: 'at-1' } })

      const got = await store.get<{ tokens: { accessToken: string } }>('session')
      got!.tokens.accessToken = 'changed'

      expect(await store.get('session')).toEqual({ tokens: { accessToken: 'at-1' } })
    })

    it('forgets a deleted key and leaves the others', async () => {
      const store = makeStore()
      await store.set('a', 1)
      await store.set('b', 2)

      await store.del('a')

      expect(await store.get('a')).toBeUndefined()
      expect(await store.get('b')).toBe(2)
    })

    it('deletes a key that does not exist without failing', async () => {
      await expect(makeStore().del('missing')).resolves.toBeUndefined()
    })

    it('lists the keys it holds', async () => {
      const store = makeStore()
      expect(await store.keys()).toEqual([])

      await store.set('tx:1', 1)
      await store.set('session:x', 2)
      await store.del('tx:1')
      await store.set('tx:2', 3)

      expect((await store.keys()).sort()).toEqual(['session:x', 'tx:2'])
    })

    it('updates a value from the one it holds, and creates a missing one', async () => {
      const store = makeStore()
      await store.set('k', { n: 1 })

      await store.update<{ n: number }>('k', (current) => ({ n: (current?.n ?? 0) + 1 }))
      await store.update<{ n: number }>('fresh', (current) => ({ n: (current?.n ?? 0) + 1 }))

      expect(await store.get('k')).toEqual({ n: 2 })
      expect(await store.get('fresh')).toEqual({ n: 1 })
    })

    it('deletes the key when the update returns undefined, and leaves it when it returns what it got', async () => {
      const store = makeStore()
      await store.set('gone', 1)
      await store.set('kept', { n: 1 })

      await store.update('gone', () => undefined)
      await store.update('kept', (current) => current)

      expect(await store.get('gone')).toBeUndefined()
      expect(await store.keys()).toEqual(['kept'])
      expect(await store.get('kept')).toEqual({ n: 1 })
    })

    it('runs 20 concurrent updates of one key one after another: each sees the one before', async () => {
      const store = makeStore()
      await store.set('k', 'original')
      const seen: Array<string | undefined> = []
      const writes = Array.from({ length: 20 }, (_, i) => `write-${i}`)

      await Promise.all(
        writes.map((value) =>
          store.update<string>('k', (current) => {
            seen.push(current)
            return value
          }),
        ),
      )
      const last = await store.get<string>('k')

      // A compare-and-set needs exactly this: no two updates saw the same value.
      expect(seen.filter((value) => value === 'original')).toHaveLength(1)
      expect(new Set(seen).size).toBe(20)
      expect([...seen, last].sort()).toEqual(['original', ...writes].sort())
    })
  })
}

describeStore('memory store', createMemoryStore)

describe('IndexedDB', () => {
  beforeEach(() => {
    vi.stubGlobal('indexedDB', new IDBFactory())
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  describeStore('IndexedDB store', createIndexedDbStore)

  it('shares data between two stores of the same page, as two tabs share one database', async () => {
    await createIndexedDbStore().set('session', { sub: 'user-1' })

    expect(await createIndexedDbStore().get('session')).toEqual({ sub: 'user-1' })
  })
})

describe('openDefaultStore', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('opens IndexedDB when it works', async () => {
    vi.stubGlobal('indexedDB', new IDBFactory())

    const { store, kind } = await openDefaultStore()
    await store.set('k', 'v')

    expect(kind).toBe('indexeddb')
    expect(await createIndexedDbStore().get('k')).toBe('v')
  })

  it('falls back to a working memory store when opening IndexedDB throws a SecurityError', async () => {
    vi.stubGlobal('indexedDB', {
      open() {
        throw new DOMException('The operation is insecure.', 'SecurityError')
      },
    })

    const { store, kind } = await openDefaultStore()
    await store.set('k', 'v')

    expect(kind).toBe('memory')
    expect(await store.get('k')).toBe('v')
  })

  it('falls back to memory when opening IndexedDB fails asynchronously', async () => {
    vi.stubGlobal('indexedDB', {
      open() {
        const request = { error: new DOMException('Storage is disabled.', 'UnknownError') } as Record<string, unknown>
        queueMicrotask(() => (request['onerror'] as (() => void) | undefined)?.())
        return request
      },
    })

    expect((await openDefaultStore()).kind).toBe('memory')
  })

  it('falls back to memory when the browser has no IndexedDB', async () => {
    vi.stubGlobal('indexedDB', undefined)

    expect((await openDefaultStore()).kind).toBe('memory')
  })
})

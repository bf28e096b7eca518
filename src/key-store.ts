import { AuthError } from './errors.js'
import type { KeyValueStore } from './storage.js'

/**
 * One `CryptoKeyPair` kept in the store under `key`, shared by every tab: created on demand,
 * cached in memory, forgotten with the session. The private key stays non-extractable; IndexedDB
 * stores it by structured clone, which copies the key without exposing its bytes.
 */
export interface KeyStore {
  /**
   * The stored pair; with `create`, a missing one is generated and stored first.
   *
   * @throws AuthError `dpop_key_unavailable` when the store cannot be read or written.
   */
  get(create: boolean): Promise<CryptoKeyPair | undefined>
  /** Drops the pair from the store and from memory. */
  forget(): Promise<void>
  /** Drops only the in-memory copy (another tab changed the store). */
  reset(): void
}

export function createKeyStore(
  opened: Promise<KeyValueStore>,
  key: string,
  generate: () => Promise<CryptoKeyPair>,
): KeyStore {
  let cached: Promise<CryptoKeyPair | undefined> | undefined
  async function load(create: boolean): Promise<CryptoKeyPair | undefined> {
    const store = await opened
    try {
      const stored = await store.get<CryptoKeyPair>(key)
      if ((stored !== undefined && 'privateKey' in stored) || !create) return stored
      const fresh = await generate()
      await store.set(key, fresh)
      return fresh
    } catch (cause) {
      throw new AuthError(
        'dpop_key_unavailable',
        'The DPoP key of this session could not be read or saved (storage is blocked or was cleared). Sign in again.',
        { cause },
      )
    }
  }
  return {
    async get(create) {
      cached ??= load(create)
      const pair = await cached.catch((error: unknown) => {
        cached = undefined
        throw error
      })
      if (pair !== undefined || !create) {
        if (pair === undefined) cached = undefined
        return pair
      }
      return (cached = load(true))
    },
    async forget() {
      cached = undefined
      await (await opened).del(key).catch(() => {})
    },
    reset() {
      cached = undefined
    },
  }
}

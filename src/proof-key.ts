import type * as oauth from 'oauth4webapi'
import type { ResolvedConfig } from './config.js'
import { createDpopHandle, generateDpopKeyPair } from './dpop.js'
import { AuthError } from './errors.js'
import { createKeyStore } from './key-store.js'
import type { KeyValueStore } from './storage.js'

/** The DPoP key of one session, shared by every tab, and the oauth4webapi handle that signs with it. */
export interface ProofKey {
  /**
   * The DPoP handle, or `undefined` when DPoP is off. With `create` (at sign-in) the key is made
   * when there is none.
   *
   * @throws AuthError `dpop_key_unavailable` when DPoP is on and the key is gone or unreadable.
   */
  handle(create?: boolean): Promise<oauth.DPoPHandle | undefined>
  /** Deletes the key (the session ended). */
  forget(): Promise<void>
  /** Forgets only this tab's copy (another tab ended the session). */
  reset(): void
}

/** Creates the {@link ProofKey} of the session `config` names. */
export function createProofKey(
  config: ResolvedConfig,
  store: Promise<KeyValueStore>,
  oauthClient: () => oauth.Client,
): ProofKey {
  const keys = createKeyStore(store, config.dpopKey, generateDpopKeyPair)
  // One handle per key pair: the handle remembers the servers' DPoP nonces.
  let current: { pair: CryptoKeyPair; handle: oauth.DPoPHandle } | undefined
  return {
    async handle(create = false) {
      if (!config.dpop) return undefined
      const pair = await keys.get(create)
      if (pair === undefined) {
        throw new AuthError(
          'dpop_key_unavailable',
          'The DPoP key this session is bound to is gone (site data was cleared?). Sign in again.',
        )
      }
      if (current?.pair !== pair) current = { pair, handle: createDpopHandle(oauthClient(), pair) }
      return current.handle
    },
    forget: () => keys.forget(),
    reset: () => keys.reset(),
  }
}

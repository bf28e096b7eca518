/** What the test provider's endpoint handlers share: its settings, endpoints, grants, keys and clock. */
import type { GrantLedger } from './grants.js'
import type { SigningKey } from './jws.js'
import type { ProviderEndpoints, ProviderSettings } from './metadata.js'

/** What every endpoint handler reads and changes. */
export interface ServerContext {
  settings: ProviderSettings
  endpoints: ProviderEndpoints
  ledger: GrantLedger
  /** The current signing key (first in the JWKS). */
  signingKey(): Promise<SigningKey>
  /** The provider's clock, epoch ms. */
  now(): number
  /** DPoP proof `jti`s already used. */
  seenJtis: Set<string>
}

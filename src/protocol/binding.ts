/**
 * One client's binding of the protocol steps: its configuration, clock, transport, discovery
 * document and DPoP handles. The steps of a page (provider.ts) and of the refresh worker
 * (refresh-steps.ts) run over it.
 */
import * as oauth from 'oauth4webapi'
import type { AuthEnvironment } from '../platform/environment.js'
import { lazy } from '../platform/lazy.js'
import type { KeyValueStore } from '../platform/storage.js'
import type { ResolvedConfig } from './config.js'
import { createMetadataCache, type MetadataCache } from './metadata-cache.js'
import type { TokenSet, UserClaims } from './token-set.js'
import { createTransport, type Transport } from './transport.js'

/**
 * The credentials of one sign-in, as a protocol step needs them: the tokens, the user they were
 * issued for, and the DPoP key they are bound to. `generation` names the sign-in: DPoP handles
 * (and the server nonces they learnt) are kept per sign-in.
 */
export interface Credentials {
  generation: string
  tokens: TokenSet
  claims: UserClaims
  dpopKey?: CryptoKeyPair | undefined
}

/** One client's binding of the steps: its configuration, clock, transport and discovery document. */
export interface Bound {
  config: ResolvedConfig
  env: AuthEnvironment
  transport: Transport
  metadata: MetadataCache
  /** oauth4webapi's client metadata; `clockSkew` makes its clock agree with the injected `now()`. */
  client(): oauth.Client
  /** What the ID-token checks compare with: the client id, this client's clock, the tolerance. */
  checks(): { clientId: string; nowSeconds: number; toleranceSeconds: number }
  /** The DPoP steps, loaded only for an app that turns DPoP on. */
  dpop(): Promise<typeof import('./dpop.js')>
  /** The DPoP handle of a sign-in (one per generation: the handle remembers the servers' nonces). */
  dpopHandle(generation: string, keyPair: CryptoKeyPair | undefined): Promise<oauth.DPoPHandle | undefined>
}

/** Binds the steps to one client's configuration, clock and store. */
export function createBinding(config: ResolvedConfig, env: AuthEnvironment, store: KeyValueStore): Bound {
  const transport = createTransport(config, env)
  let proof: { generation: string; handle: oauth.DPoPHandle } | undefined
  const dpopSteps = lazy(() => import('./dpop.js'), 'the DPoP code')
  const bound: Bound = {
    config,
    env,
    transport,
    metadata: createMetadataCache({ config, env, store, transport }),
    client: () => ({
      client_id: config.clientId,
      [oauth.clockSkew]: Math.round((env.now() - Date.now()) / 1000),
      [oauth.clockTolerance]: config.clockToleranceSeconds,
    }),
    checks: () => ({
      clientId: config.clientId,
      nowSeconds: Math.floor(env.now() / 1000),
      toleranceSeconds: config.clockToleranceSeconds,
    }),
    dpop: () => dpopSteps.get(),
    async dpopHandle(generation, keyPair) {
      if (!config.dpop || keyPair === undefined) return undefined
      const { createDpopHandle } = await bound.dpop()
      if (proof?.generation !== generation) proof = { generation, handle: createDpopHandle(bound.client(), keyPair) }
      return proof.handle
    },
  }
  return bound
}

import type * as oauth from 'oauth4webapi'
import type { ResolvedConfig } from './config.js'
import { discover } from './discovery.js'
import type { AuthEnvironment } from '../platform/environment.js'
import type { KeyValueStore } from '../platform/storage.js'
import type { Transport } from './transport.js'

/** The discovery document of one client's provider, as every step uses it. */
export interface MetadataCache {
  /**
   * The document: from memory, else from the store (no network on a warm start), else from the
   * provider; refreshed in the background after a day. The configured `endpoints` win over its own.
   */
  get(): Promise<oauth.AuthorizationServer>
  /** Keeps `next` in place of `current`: a copy carrying a key set fetched for a key never seen. */
  adopt(current: oauth.AuthorizationServer, next: oauth.AuthorizationServer): void
}

const METADATA_MAX_AGE_MS = 24 * 60 * 60_000

export function createMetadataCache(deps: {
  config: Pick<ResolvedConfig, 'issuer' | 'metadataKey' | 'endpoints'>
  env: Pick<AuthEnvironment, 'now'>
  store: KeyValueStore
  transport: Transport
}): MetadataCache {
  const { config, env, store } = deps
  let metadata: Promise<oauth.AuthorizationServer> | undefined

  async function fetchMetadata(): Promise<oauth.AuthorizationServer> {
    const as = await discover(config.issuer, deps.transport)
    await store.set(config.metadataKey, { as, fetchedAt: env.now() }).catch(() => {})
    return as
  }

  async function load(): Promise<oauth.AuthorizationServer> {
    const cached = await store
      .get<{ as: oauth.AuthorizationServer; fetchedAt: number }>(config.metadataKey)
      .catch(() => undefined)
    if (cached && new URL(cached.as.issuer).href === config.issuer.href) {
      if (env.now() - cached.fetchedAt > METADATA_MAX_AGE_MS) void fetchMetadata().catch(() => {})
      return withOverrides(cached.as, config.endpoints)
    }
    return withOverrides(await fetchMetadata(), config.endpoints)
  }

  return {
    get() {
      metadata ??= load()
      metadata.catch(() => (metadata = undefined))
      return metadata
    },
    adopt(current, next) {
      if (next !== current) metadata = Promise.resolve(next)
    },
  }
}

/** The configured endpoints win over the discovery document's (a provider whose discovery leaves one out). */
function withOverrides(
  as: oauth.AuthorizationServer,
  endpoints: ResolvedConfig['endpoints'],
): oauth.AuthorizationServer {
  return {
    ...as,
    ...(endpoints.revocation ? { revocation_endpoint: endpoints.revocation } : {}),
    ...(endpoints.endSession ? { end_session_endpoint: endpoints.endSession } : {}),
  }
}

/**
 * The steps a refresh transaction takes with the provider: the refresh grant, the revocation of a
 * refresh token that must not stay usable, and whether the provider answers at all. The refresh
 * worker bundles only these; a page's provider has them among every other step.
 */
import { discover } from './discovery.js'
import type { Bound, Credentials } from './binding.js'
import { revokeToken } from './logout.js'
import { refreshGrant, type RefreshOutcome } from './refresh-grant.js'
import { tokenSetFromResponse, type TokenSet, type UserClaims } from './token-set.js'

/** {@link RefreshOutcome}, with a `refreshed` answer turned into the session's new tokens and claims. */
export type RefreshResult =
  Exclude<RefreshOutcome, { kind: 'refreshed' }> | { kind: 'refreshed'; tokens: TokenSet; claims: UserClaims }

/** What a refresh transaction asks of the provider. */
export interface RefreshSteps {
  /** The refresh grant for `credentials` (for one API's token with `resource`), classified; new tokens keep what the answer left out. */
  refresh(credentials: Credentials, resource?: string): Promise<RefreshResult>
  /** Revokes a refresh token (RFC 7009); `false` when the provider offers no revocation. */
  revoke(refreshToken: string): Promise<boolean>
  /** Whether the provider answers at all (its discovery document), bypassing every cache. */
  answers(): Promise<boolean>
}

/** The refresh steps over `bound`. */
export function createRefreshSteps(bound: Bound): RefreshSteps {
  return {
    refresh: (credentials, resource) => refresh(bound, credentials, resource),
    revoke: async (refreshToken) =>
      revokeToken(await bound.metadata.get(), bound.client(), refreshToken, bound.transport),
    answers: () =>
      discover(bound.config.issuer, bound.transport).then(
        () => true,
        () => false,
      ),
  }
}

async function refresh(bound: Bound, credentials: Credentials, resource: string | undefined): Promise<RefreshResult> {
  const as = await bound.metadata.get()
  const { tokens, claims, generation, dpopKey } = credentials
  const input = {
    refreshToken: tokens.refreshToken!,
    previous: claims,
    ...bound.checks(),
    dpop: await bound.dpopHandle(generation, dpopKey),
    // The token request parameter that names the API a token is for (RFC 8707 §2.2, or `audience`).
    parameters: resource === undefined ? undefined : { [bound.config.resourceParameter]: resource },
  }
  const outcome = await refreshGrant(as, bound.client(), input, bound.transport)
  if (outcome.kind !== 'refreshed') return outcome
  bound.metadata.adopt(as, outcome.as)
  const refreshed = tokenSetFromResponse(outcome.response, bound.env.now(), tokens)
  return { kind: 'refreshed', tokens: refreshed, claims: outcome.claims ?? claims }
}

/**
 * What a test does to the provider and the browser between two assertions: move time, expire or
 * revoke tokens, make requests fail, rotate the signing key, sign out in another tab, wait for the
 * clients to settle.
 */
import type { AuthClient } from '../index.js'
import type { Browser } from './browser.js'
import type { ProviderFailure } from './faults.js'
import type { ProviderEndpoint } from './metadata.js'
import type { TestServer } from './server.js'

/** The controls of a test provider. */
export interface TestControls {
  /**
   * The browser's and the provider's clock jump ahead by `ms` (a laptop that slept), then every tab
   * wakes, so each client notices what fell due (a refresh) as after a real sleep. Fires no timer:
   * under `vi.useFakeTimers()`, `vi.advanceTimersByTimeAsync(ms)` lets the client's own timer act instead.
   */
  advanceTime(ms: number): void
  /**
   * Every access token issued so far expires now: the clock jumps one lifetime of the longest-lived
   * one ahead, and a second (see {@link advanceTime}), past the expiry each client computed from
   * when it received its token, so the clients refresh. Returns how many ms the clock moved.
   */
  expireAccessTokens(): number
  /** Every tab becomes visible, focused and online again: the clients check their timers. */
  wake(): void
  /**
   * The next refresh (or the next `times`) fails: `'invalid_grant'` (the provider rejects the refresh
   * token, and it is revoked), `'server_error'` (HTTP 500), `'network_error'` (no answer) or
   * `'timeout'` (an answer that never comes, until the client's `requestTimeoutMs` aborts it).
   */
  failNextRefresh(failure: ProviderFailure, options?: { times?: number }): void
  /** Like {@link failNextRefresh}, for any endpoint (`'token'` is any grant). */
  failNextRequest(endpoint: ProviderEndpoint, failure: ProviderFailure, options?: { times?: number }): void
  /**
   * Ends sessions from the provider's side (an administrator, a password change): every grant, or
   * the user `sub`'s, is revoked with its tokens; the client finds out at its next refresh
   * (`reason: 'refresh-rejected'`). Returns how many grants were revoked.
   */
  revokeGrants(options?: { sub?: string }): number
  /** Signs out in another tab of the same browser (a second client, same store and channel), without a redirect. */
  signOutInAnotherTab(): Promise<void>
  /**
   * Signs with a new key from now on, first in the JWKS; the previous key stays published unless
   * `retirePrevious`. Resolves the new key's `kid`.
   */
  rotateSigningKey(options?: { retirePrevious?: boolean }): Promise<string>
  /** Forgets the requests recorded so far (`provider.requests` becomes empty). */
  clearRequests(): void
  /**
   * Resolves once the clients have nothing left to do: no request being answered, no lock held or
   * waited for, no message between tabs in transit. Works under fake timers (it waits with no timer).
   * A request made to time out is not waited for.
   */
  idle(): Promise<void>
  /** Disposes every client `createClient()` made (their timers stop). */
  dispose(): void
}

/** Creates the controls over a provider and its browser. */
export function createTestControls(deps: {
  server: TestServer
  browser: Browser
  clients: Set<AuthClient>
  createClient(): AuthClient
}): TestControls {
  const { server, browser, clients } = deps

  function advanceTime(ms: number): void {
    browser.clock.advance(ms)
    browser.wake()
  }

  return {
    advanceTime,
    expireAccessTokens() {
      // A client counts a token's lifetime from when it received the answer, which may be well
      // after the provider issued it (a loaded machine), but never after now: one whole lifetime
      // from now, and a second, is past every client's expiry of every live token.
      const longest = server.context.ledger.longestAccessTokenLifetime(browser.clock.now())
      const ms = longest === undefined ? 0 : longest + 1000
      if (ms > 0) advanceTime(ms)
      return ms
    },
    wake: () => browser.wake(),
    failNextRefresh(failure, options = {}) {
      const refreshes = (request: { endpoint: string; grantType: string | undefined }) =>
        request.endpoint === 'token' && request.grantType === 'refresh_token'
      server.failNext(refreshes, failure, times(options.times))
    },
    failNextRequest(endpoint, failure, options = {}) {
      server.failNext((request) => request.endpoint === endpoint, failure, times(options.times))
    },
    revokeGrants: (options = {}) => server.context.ledger.revokeGrants(options.sub),
    async signOutInAnotherTab() {
      const other = deps.createClient()
      try {
        await other.ready()
        await other.signOut({ redirect: false })
      } finally {
        other.dispose()
        clients.delete(other)
      }
    },
    rotateSigningKey: (options = {}) => server.rotateSigningKey(options.retirePrevious === true),
    clearRequests: () => void server.requests.splice(0),
    idle: () => idle(server, browser),
    dispose() {
      for (const client of clients) client.dispose()
      clients.clear()
    },
  }
}

function times(value: number | undefined): number {
  if (value === undefined) return 1
  if (!Number.isInteger(value) || value < 1) throw new RangeError('times must be a whole number, 1 or more.')
  return value
}

/**
 * One turn of the event loop that fake timers cannot hold: a WebCrypto digest settles outside the
 * microtask queue, as the library's own signature checks do.
 */
async function turn(): Promise<void> {
  await crypto.subtle.digest('SHA-256', new Uint8Array(1))
}

async function idle(server: TestServer, browser: Browser): Promise<void> {
  let quiet = 0
  for (let round = 0; round < 1000; round++) {
    // A lock holder waiting for a request that hangs on purpose would keep the browser busy forever.
    const busy = [...server.busy(), ...browser.busy({ locks: server.hanging() === 0 })]
    if (busy.length === 0 && ++quiet >= 3) return
    if (busy.length > 0) quiet = 0
    await Promise.allSettled(busy)
    await turn()
  }
  throw new Error('The clients never became idle: something keeps starting new work.')
}

/**
 * The request log and the failures a test asks for: which requests fail, how, and how many times.
 * A request made to time out never answers; it rejects like `fetch` when its client aborts it.
 */
import type { ProviderEndpoint } from './metadata.js'

/** One request the client (or the test) sent to the provider, and how it ended. */
export interface ProviderRequest {
  endpoint: ProviderEndpoint
  method: string
  url: string
  /** `grant_type` of a token request: `'authorization_code'` or `'refresh_token'`. */
  grantType: string | undefined
  /** Whether the request carried a DPoP proof. */
  dpop: boolean
  /** When it arrived, epoch ms on the browser's clock. */
  at: number
  /** The HTTP status answered; `'network-error'` or `'timeout'` when no answer came; `'pending'` meanwhile. */
  status: number | 'network-error' | 'timeout' | 'pending'
}

/** How a request made to fail fails: an OAuth rejection, a 500, no answer at all, or an answer that never comes. */
export type ProviderFailure = 'invalid_grant' | 'server_error' | 'network_error' | 'timeout'

/** Creates an empty set of planned failures. */
export function createFaults() {
  const planned: Array<{ matches: (request: ProviderRequest) => boolean; failure: ProviderFailure; left: number }> = []
  let hanging = 0
  return {
    /** Makes the next `times` requests that `matches` accepts fail with `failure`. */
    plan(matches: (request: ProviderRequest) => boolean, failure: ProviderFailure, times: number): void {
      planned.push({ matches, failure, left: times })
    },
    /** The failure planned for `request`, if any; planned failures are used up in order. */
    take(request: ProviderRequest): ProviderFailure | undefined {
      const index = planned.findIndex((entry) => entry.matches(request))
      const entry = planned[index]
      if (entry === undefined) return undefined
      if (--entry.left === 0) planned.splice(index, 1)
      return entry.failure
    },
    /** Never answers; rejects like `fetch` once `signal` aborts (the client's own time limit). */
    hang(signal: AbortSignal | undefined): Promise<Response> {
      hanging++
      return new Promise((_, reject) => {
        const abort = () => {
          hanging--
          reject(signal?.reason ?? new DOMException('The operation was aborted.', 'AbortError'))
        }
        if (signal?.aborted) abort()
        else signal?.addEventListener('abort', abort, { once: true })
      })
    },
    /** How many requests are hanging until their client aborts them. */
    hanging: () => hanging,
  }
}

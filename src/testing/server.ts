/**
 * The test provider's `fetch`: routes a request to its endpoint, records it, injects the failures a
 * test asked for. No HTTP server, no port: a request is a function call that answers a `Response`.
 */
import { authorize, handleEndSession, type AuthorizeDecision } from './authorize.js'
import { createFaults, type ProviderFailure, type ProviderRequest } from './faults.js'
import { createGrantLedger, type GrantLedger } from './grants.js'
import { json, oauthError, page, readRequest, toRequest, type IncomingRequest } from './http.js'
import { generateSigningKey, type SigningKey } from './jws.js'
import {
  discoveryDocument,
  endpointOf,
  providerEndpoints,
  type ProviderEndpoint,
  type ProviderEndpoints,
  type ProviderSettings,
} from './metadata.js'
import { handleRevocation, handleTokenRequest } from './token-endpoint.js'
import { checkAccessToken, handleUserinfo } from './userinfo.js'
import type { ServerContext } from './context.js'

/** Creates the provider's endpoints over `settings`, reading time from `now`. */
export function createServer(settings: ProviderSettings, now: () => number) {
  const endpoints = providerEndpoints(settings.issuer)
  // Keys are made on first use, so creating a provider stays synchronous; the first key signs.
  let keys: Promise<SigningKey[]> | undefined
  const allKeys = () => (keys ??= generateSigningKey(settings.signingAlg).then((key) => [key]))
  const context: ServerContext = {
    settings,
    endpoints,
    ledger: createGrantLedger(),
    signingKey: async () => (await allKeys())[0]!,
    now,
    seenJtis: new Set(),
  }
  const requests: ProviderRequest[] = []
  const faults = createFaults()
  const inFlight = new Set<Promise<unknown>>()

  /** Serves one request; resolves `'hang'` for a request made to time out. */
  async function serve(request: IncomingRequest): Promise<Response | 'hang'> {
    const entry = record(request.url.href, request.method, endpointOf(request.url, settings, endpoints))
    entry.grantType = request.form.get('grant_type') ?? undefined
    entry.dpop = request.headers.has('dpop')
    const failure = faults.take(entry)
    if (entry.endpoint === 'unknown' && request.url.origin !== new URL(settings.issuer).origin) {
      entry.status = 'network-error'
      throw new TypeError(
        `Failed to fetch ${request.url.href}: the test provider answers only ${settings.issuer} (give createTestProvider an \`api\` handler for your own API).`,
      )
    }
    if (failure === 'network_error') {
      entry.status = 'network-error'
      throw new TypeError(`Failed to fetch ${request.url.href}: the test made this request fail.`)
    }
    if (failure === 'timeout') {
      entry.status = 'timeout'
      return 'hang'
    }
    const response =
      failure === undefined
        ? await answer(context, allKeys, entry.endpoint, request)
        : failureAnswer(context, failure, request)
    entry.status = response.status
    return response
  }

  function record(url: string, method: string, endpoint: ProviderEndpoint): ProviderRequest {
    const entry: ProviderRequest = {
      endpoint,
      method,
      url,
      grantType: undefined,
      dpop: false,
      at: now(),
      status: 'pending',
    }
    requests.push(entry)
    return entry
  }

  return {
    settings,
    endpoints,
    context,
    requests,
    /** The provider's `fetch`; `base` resolves relative URLs (the tab's address). */
    async fetch(input: RequestInfo | URL, init?: RequestInit, base?: string): Promise<Response> {
      const request = await readRequest(input, init, base)
      const served = serve(request)
      inFlight.add(served)
      void served.finally(() => inFlight.delete(served)).catch(() => {})
      const result = await served
      return result === 'hang' ? faults.hang(request.signal) : result
    },
    /**
     * The browser loads the authorization request `url` and the user decides; returns the callback
     * URL the provider redirects to.
     *
     * @throws Error for a request a provider must not redirect (unknown client, unregistered redirect URI).
     */
    authorize(url: string, decision: AuthorizeDecision): string {
      const entry = record(url, 'GET', 'authorize')
      try {
        const callback = authorize(context, new URL(url), decision)
        entry.status = 302
        return callback
      } catch (error) {
        entry.status = 400
        throw error
      }
    },
    /** Makes the next `times` requests that `matches` accepts fail with `failure`. */
    failNext: (matches: (request: ProviderRequest) => boolean, failure: ProviderFailure, times: number) =>
      faults.plan(matches, failure, times),
    /** Signs with a new key from now on; the old one stays in the JWKS unless `retire`. */
    async rotateSigningKey(retire: boolean): Promise<string> {
      const current = await allKeys()
      const next = await generateSigningKey(settings.signingAlg)
      keys = Promise.resolve(retire ? [next] : [next, ...current])
      return next.kid
    },
    /** Requests being served now (not those made to hang). */
    busy: (): Promise<unknown>[] => [...inFlight],
    /** How many requests are hanging until their client aborts them. */
    hanging: () => faults.hanging(),
  }
}

/** The endpoint's answer to `request`. */
async function answer(
  context: ServerContext,
  keys: () => Promise<SigningKey[]>,
  endpoint: ProviderEndpoint,
  request: IncomingRequest,
): Promise<Response> {
  const { settings, endpoints } = context
  switch (endpoint) {
    case 'discovery':
      return json(discoveryDocument(settings, endpoints))
    case 'jwks':
      return json({ keys: (await keys()).map((key) => key.publicJwk) })
    case 'authorize':
      return page('The test provider signs users in with provider.signIn() or provider.completeSignIn().')
    case 'token':
      return handleTokenRequest(context, request)
    case 'userinfo':
      return handleUserinfo(context, request)
    case 'revocation':
      return handleRevocation(context, request)
    case 'end-session':
      return handleEndSession(context, request)
    case 'api': {
      const checked = await checkAccessToken(context, request)
      return settings.api!(toRequest(request), checked.ok ? checked.info : null)
    }
    default:
      return page(`${request.url.pathname} is not an endpoint of the test provider.`, 404)
  }
}

/** The answer of a request the test made fail at the provider. */
function failureAnswer(
  context: ServerContext,
  failure: 'invalid_grant' | 'server_error',
  request: IncomingRequest,
): Response {
  if (failure === 'server_error') return oauthError('server_error', 'The test made this request fail.', 500)
  // A rejected refresh token is dead for every tab that holds it, as at a real provider.
  const refreshToken = request.form.get('refresh_token')
  if (refreshToken !== null) context.ledger.revokeToken(refreshToken)
  return oauthError('invalid_grant', 'The test made the provider reject this grant.')
}

/** The provider. */
export type TestServer = ReturnType<typeof createServer>

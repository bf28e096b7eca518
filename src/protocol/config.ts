import { checkAuthorizeParams } from './authorize-params.js'
import { AuthError } from '../platform/errors.js'

/** What an app passes to `createAuthClient`. */
export interface AuthConfig {
  /** The provider's issuer identifier, matched exactly (e.g. `https://my-app.authing.cn/oidc`). */
  issuer: string
  clientId: string
  /** Absolute URL the provider redirects back to; must be registered at the provider. */
  redirectUri: string
  /** Space-separated scopes. Default `'openid profile offline_access'`. */
  scope?: string
  /** Where the provider sends the browser after sign-out; must be registered at the provider. */
  postLogoutRedirectUri?: string
  /** Refresh this many seconds before the access token expires (capped at a quarter of its life). Default 60. */
  refreshLeewaySeconds?: number
  /**
   * Extra authorization request parameters sent with every sign-in, e.g. `audience`, `resource`
   * (RFC 8707), `prompt`, `max_age`, `login_hint`, `ui_locales`, `acr_values`. Values are strings.
   * Names the library sets itself or that would move or reshape the response are refused with
   * `invalid_config` (see {@link checkAuthorizeParams}); so is `scope`, which has its own option.
   */
  authorizeParams?: Record<string, string>
  /** Abort a request to the provider after this many milliseconds. Default 10 000. */
  requestTimeoutMs?: number
  /**
   * Sender-constrained tokens (DPoP, RFC 9449): a non-extractable P-256 key kept in IndexedDB signs
   * a proof for every token and resource request. Default `false`; the provider must support it.
   */
  dpop?: boolean
  /**
   * Origins `auth.fetch` may send tokens to. Default: the page's own origin; `http:` origins are
   * accepted on loopback hosts only. An array sends the session's access token to each, e.g.
   * `['https://api.example.com']`. A record maps each origin to the API's resource indicator
   * (RFC 8707), e.g. `{ 'https://orders.example.com': 'https://orders.example.com/' }`: the sign-in
   * asks for every listed resource, and `auth.fetch` sends each API a token of its own (the one
   * `getAccessToken({ resource })` returns).
   */
  apiOrigins?: string[] | Record<string, string>
  /**
   * How a token request names the API it is for: `'resource'` (RFC 8707, default) or `'audience'`
   * (Auth0 and providers like it). With `'audience'` the sign-in asks for no resource; each API's
   * token comes from a refresh grant with `audience=<resource>`.
   */
  resourceParameter?: 'resource' | 'audience'
  /**
   * Pushed Authorization Requests (RFC 9126): `'auto'` (default) pushes when discovery lists a
   * `pushed_authorization_request_endpoint` (always when it says
   * `require_pushed_authorization_requests`), `'always'` requires it, `'never'` sends a plain
   * authorization URL. Pushed, the URL carries only `client_id` and `request_uri`.
   */
  par?: 'auto' | 'always' | 'never'
  /**
   * Endpoints that win over the discovery document, for providers whose discovery leaves one out
   * (django-oauth-toolkit lists no `revocation_endpoint` in its OIDC discovery).
   */
  endpoints?: { revocation?: string; endSession?: string }
  /** Clock difference (seconds) tolerated when checking the ID token's `exp`, `iat` and `auth_time`. Default 30. */
  clockToleranceSeconds?: number
  /**
   * Where refreshes run. `'worker'` (default): in a worker the browser keeps alive after the page
   * is gone, so a reload or a closed tab cannot lose a refresh token the provider has just rotated —
   * a SharedWorker with `extendedLifetime` (Chromium 148+), else the library's service worker;
   * where neither can run, in the page. `'page'`: always in the page.
   */
  refreshIn?: 'worker' | 'page'
}

/** The configuration after validation, with defaults applied and every derived name computed once. */
export interface ResolvedConfig {
  issuer: URL
  clientId: string
  redirectUri: string
  scope: string
  postLogoutRedirectUri: string | undefined
  refreshLeewaySeconds: number
  authorizeParams: Readonly<Record<string, string>>
  requestTimeoutMs: number
  dpop: boolean
  /** Where 0.1 kept the DPoP key pair apart from the session: read once to carry an old session over. */
  legacyDpopKey: string
  /** True for `http:` loopback issuers, which oauth4webapi must be told to allow. */
  allowHttp: boolean
  /** Store key of the session record. */
  sessionKey: string
  /** Store key of the cached discovery document. */
  metadataKey: string
  /** Name of the Web Lock and the BroadcastChannel shared by every tab of this session. */
  sessionName: string
  /** Normalised origins `auth.fetch` may send tokens to, each with its resource; `undefined` means the page's own. */
  apiOrigins: ReadonlyMap<string, string | undefined> | undefined
  /** Every resource `apiOrigins` names: the sign-in asks for all of them (RFC 8707). */
  resources: readonly string[]
  resourceParameter: 'resource' | 'audience'
  par: 'auto' | 'always' | 'never'
  endpoints: { revocation?: string; endSession?: string }
  /** No `scope` was configured: the default drops `offline_access` for a provider that does not list it. */
  scopeIsDefault: boolean
  refreshIn: 'worker' | 'page'
  clockToleranceSeconds: number
  /** The issuer exactly as configured: sessions, locks and caches are named after it. */
  issuerIdentifier: string
}

export const DEFAULT_SCOPE = 'openid profile offline_access'

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Whether `url` points at this machine, where plain `http:` is acceptable for development. */
export function isLoopback(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname)
}

/** HTTPS, or plain `http:` on this machine: where tokens and credentials may travel. */
function isSecure(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url))
}

function parseUrl(value: unknown, name: string): URL {
  if (typeof value !== 'string' || value === '') {
    throw new AuthError('invalid_config', `${name} is required and must be an absolute URL.`)
  }
  try {
    return new URL(value)
  } catch (cause) {
    throw new AuthError('invalid_config', `${name} "${value}" is not an absolute URL.`, { cause })
  }
}

/**
 * Validates `config` and applies defaults.
 *
 * @throws AuthError `invalid_config` for a missing or malformed field, or an `authorizeParams`
 *   name the library owns (see {@link checkAuthorizeParams}); `insecure_issuer` for an `http:`
 *   issuer that is not loopback (HTTPS is required everywhere else).
 */
export function resolveConfig(config: AuthConfig): ResolvedConfig {
  const issuer = parseUrl(config.issuer, 'issuer')
  if (!isSecure(issuer)) {
    throw new AuthError(
      'insecure_issuer',
      `The issuer ${config.issuer} does not use HTTPS. Tokens must only travel over HTTPS; plain http: is accepted for localhost, 127.0.0.1 and [::1] only.`,
    )
  }
  if (typeof config.clientId !== 'string' || config.clientId === '') {
    throw new AuthError(
      'invalid_config',
      'clientId is required: copy the application (client) ID from the provider console.',
    )
  }
  const redirectUri = parseUrl(config.redirectUri, 'redirectUri').href
  const postLogoutRedirectUri =
    config.postLogoutRedirectUri === undefined
      ? undefined
      : parseUrl(config.postLogoutRedirectUri, 'postLogoutRedirectUri').href
  const leeway = config.refreshLeewaySeconds ?? 60
  if (!Number.isFinite(leeway) || leeway < 0) {
    throw new AuthError('invalid_config', 'refreshLeewaySeconds must be a number of seconds, zero or more.')
  }
  const timeout = config.requestTimeoutMs ?? 10_000
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new AuthError('invalid_config', 'requestTimeoutMs must be a positive number of milliseconds.')
  }
  const tolerance = config.clockToleranceSeconds ?? 30
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new AuthError('invalid_config', 'clockToleranceSeconds must be a number of seconds, zero or more.')
  }
  const sessionName = `${config.issuer}|${config.clientId}`
  return {
    issuer,
    clientId: config.clientId,
    redirectUri,
    scope: config.scope ?? DEFAULT_SCOPE,
    postLogoutRedirectUri,
    refreshLeewaySeconds: leeway,
    authorizeParams: checkAuthorizeParams(config.authorizeParams, 'config.authorizeParams', {
      scope:
        'set the scope option of the configuration instead (one place for the scope, which decides offline_access)',
    }),
    requestTimeoutMs: timeout,
    dpop: config.dpop === true,
    legacyDpopKey: `dpop:${sessionName}`,
    allowHttp: issuer.protocol === 'http:',
    sessionKey: `session:${sessionName}`,
    metadataKey: `meta:${config.issuer}`,
    sessionName: `spa-auth:${sessionName}`,
    clockToleranceSeconds: tolerance,
    ...resolveApis(config),
    par: oneOf(config.par, ['auto', 'always', 'never'], 'par'),
    endpoints: resolveEndpoints(config.endpoints),
    scopeIsDefault: config.scope === undefined,
    refreshIn: oneOf(config.refreshIn, ['worker', 'page'], 'refreshIn'),
    issuerIdentifier: config.issuer,
  }
}

function resolveApis(config: AuthConfig): Pick<ResolvedConfig, 'apiOrigins' | 'resources' | 'resourceParameter'> {
  const resourceParameter = oneOf(config.resourceParameter, ['resource', 'audience'], 'resourceParameter')
  const given = config.apiOrigins
  if (given === undefined) return { apiOrigins: undefined, resources: [], resourceParameter }
  const entries: Array<[string, string | undefined]> = Array.isArray(given)
    ? given.map((origin) => [apiOrigin(origin), undefined])
    : Object.entries(given).map(([origin, resource]) => [apiOrigin(origin), resourceOf(resource, origin)])
  const resources = [...new Set(entries.flatMap(([, resource]) => (resource === undefined ? [] : [resource])))]
  return { apiOrigins: new Map(entries), resources, resourceParameter }
}

function resourceOf(value: unknown, origin: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new AuthError('invalid_config', `apiOrigins["${origin}"] must be the API's resource indicator (a string).`)
  }
  return value
}

function resolveEndpoints(endpoints: AuthConfig['endpoints']): ResolvedConfig['endpoints'] {
  const resolved: ResolvedConfig['endpoints'] = {}
  if (endpoints?.revocation !== undefined) resolved.revocation = secureUrl(endpoints.revocation, 'endpoints.revocation')
  if (endpoints?.endSession !== undefined) resolved.endSession = secureUrl(endpoints.endSession, 'endpoints.endSession')
  return resolved
}

function secureUrl(value: string, name: string): string {
  const url = parseUrl(value, name)
  if (!isSecure(url)) {
    throw new AuthError('invalid_config', `${name} must use HTTPS (http: only on loopback hosts).`)
  }
  return url.href
}

function oneOf<T extends string>(value: T | undefined, allowed: readonly T[], name: string): T {
  if (value === undefined) return allowed[0]!
  if (!allowed.includes(value)) {
    throw new AuthError('invalid_config', `${name} must be one of ${allowed.map((v) => `'${v}'`).join(', ')}.`)
  }
  return value
}

/** `value` as an origin `auth.fetch` may send tokens to. */
function apiOrigin(value: string): string {
  const url = parseUrl(value, 'apiOrigins entry')
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new AuthError('invalid_config', `apiOrigins lists origins only ("https://api.example.com"), not "${value}".`)
  }
  if (!isSecure(url)) {
    throw new AuthError(
      'invalid_config',
      `apiOrigins entry "${value}" is not HTTPS. Tokens are sent over HTTPS only; http: is accepted for loopback hosts.`,
    )
  }
  return url.origin
}

import { AuthError } from './errors.js'

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
   * Origins `auth.fetch` may send the access token to, e.g. `['https://api.example.com']`. Default:
   * the page's own origin. `http:` origins are accepted on loopback hosts only.
   */
  apiOrigins?: string[]
  /** Clock difference (seconds) tolerated when checking the ID token's `exp`, `iat` and `auth_time`. Default 30. */
  clockToleranceSeconds?: number
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
  /** Normalised origins `auth.fetch` may send tokens to; `undefined` means the page's own. */
  apiOrigins: readonly string[] | undefined
  clockToleranceSeconds: number
}

export const DEFAULT_SCOPE = 'openid profile offline_access'

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Whether `url` points at this machine, where plain `http:` is acceptable for development. */
export function isLoopback(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname)
}

/**
 * Authorization request parameters an app may not set, with what to do instead: the ones the
 * library sets itself for every sign-in (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1), and
 * the ones that would move the response where the callback never looks (`response_mode`) or
 * replace the request the library built (RFC 9101 request objects, RFC 9126 `request_uri`,
 * OIDC `registration`, RFC 9449 §10 `dpop_jkt`).
 */
const REFUSED_AUTHORIZE_PARAMS: ReadonlyMap<string, string> = new Map([
  ['response_type', 'spa-auth always uses the authorization code flow (response_type=code)'],
  ['client_id', 'set clientId in the configuration instead'],
  ['redirect_uri', 'set redirectUri in the configuration instead'],
  ['state', 'spa-auth makes a fresh state for every sign-in'],
  ['nonce', 'spa-auth makes a fresh nonce for every sign-in'],
  ['code_challenge', 'spa-auth makes a fresh PKCE S256 challenge for every sign-in'],
  ['code_challenge_method', 'spa-auth always uses PKCE with S256'],
  [
    'response_mode',
    'the callback is read from the query string (the default response mode of the code flow), so a response sent any other way would never be recognised; remove it',
  ],
  ['request', 'request objects are not supported; pass the parameters themselves in authorizeParams'],
  [
    'request_uri',
    'pushed authorization requests and request objects by reference are not supported; pass the parameters themselves in authorizeParams',
  ],
  ['registration', 'dynamic registration is not supported; register the client at the provider'],
  ['dpop_jkt', 'with dpop: true spa-auth binds the sign-in to its own key; remove it'],
])

/**
 * Checks extra authorization request parameters and returns a copy: a plain object whose values
 * are strings, with no name the library owns or that changes where or how the response comes back.
 * `resource` (RFC 8707) may be repeated by the standard; it is a single string here for now — an
 * array form would be a new, additive option.
 *
 * @param where How the message names the object, e.g. `config.authorizeParams`.
 * @param alsoRefused Further names refused here, with what to do instead.
 * @throws AuthError `invalid_config` naming the parameter and what to use instead.
 */
export function checkAuthorizeParams(
  params: unknown,
  where: string,
  alsoRefused: Readonly<Record<string, string>> = {},
): Readonly<Record<string, string>> {
  if (params === undefined) return {}
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new AuthError('invalid_config', `${where} must be an object of parameter names to string values.`)
  }
  const checked: Record<string, string> = {}
  for (const [name, value] of Object.entries(params)) {
    const instead =
      REFUSED_AUTHORIZE_PARAMS.get(name) ?? (Object.hasOwn(alsoRefused, name) ? alsoRefused[name] : undefined)
    if (instead !== undefined) throw new AuthError('invalid_config', `${where}.${name} is not allowed: ${instead}.`)
    if (typeof value !== 'string') {
      throw new AuthError('invalid_config', `${where}.${name} must be a string, not ${kindOf(value)}.`)
    }
    checked[name] = value
  }
  return checked
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`
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
  if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && isLoopback(issuer))) {
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
    apiOrigins: config.apiOrigins === undefined ? undefined : config.apiOrigins.map(apiOrigin),
    clockToleranceSeconds: tolerance,
  }
}

/** `value` as an origin `auth.fetch` may send tokens to. */
function apiOrigin(value: string): string {
  const url = parseUrl(value, 'apiOrigins entry')
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new AuthError('invalid_config', `apiOrigins lists origins only ("https://api.example.com"), not "${value}".`)
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) {
    throw new AuthError(
      'invalid_config',
      `apiOrigins entry "${value}" is not HTTPS. Tokens are sent over HTTPS only; http: is accepted for loopback hosts.`,
    )
  }
  return url.origin
}

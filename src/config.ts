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
  /** Extra authorization request parameters, e.g. `audience`, `resource`, `prompt`, `ui_locales`. */
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
 * @throws AuthError `invalid_config` for a missing or malformed field; `insecure_issuer` for an
 *   `http:` issuer that is not loopback (HTTPS is required everywhere else).
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
    authorizeParams: { ...config.authorizeParams },
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

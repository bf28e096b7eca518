import * as oauth from 'oauth4webapi'
import { checkAuthorizeParams } from './authorize-params.js'
import { DEFAULT_SCOPE, type ResolvedConfig } from './config.js'
import { AuthError } from '../platform/errors.js'
import { missingEndpoint } from './step-failure.js'

/** What the library remembers between the redirect to the provider and the callback. */
export interface SignInTransaction {
  state: string
  codeVerifier: string
  nonce: string
  redirectUri: string
  /** Same-origin path to return to after the callback. */
  returnTo: string
  /** When the sign-in started (epoch ms). */
  createdAt: number
}

/** Options of `signIn` and `createSignInUrl`. */
export interface SignInOptions {
  /** Same-origin path (with query and hash) to come back to. Default: the current page. */
  returnTo?: string
  /**
   * Extra authorization request parameters for this sign-in only (`login_hint`, `prompt`,
   * `max_age`, …), added to and winning over `config.authorizeParams`. A `scope` here replaces the
   * configured one for this sign-in and must include `openid`. The names the configuration refuses
   * are refused here too: `signIn` and `createSignInUrl` reject with `invalid_config`.
   */
  authorizeParams?: Record<string, string>
  /**
   * The `prompt` of this sign-in (OIDC Core §3.1.2.1): `'none'` checks for a session at the provider
   * without showing anything — the callback then resolves `signedIn: false` with the reason
   * (`login_required`, …) instead of rejecting; `'login'`, `'consent'`, `'select_account'`.
   */
  prompt?: string
}

/**
 * Builds the authorization request (OIDC Core §3.1.2.1) with PKCE S256 (RFC 7636), a fresh
 * `state` and `nonce`, and the transaction to keep until the callback.
 *
 * `prompt=consent` is added when the scope asks for `offline_access` and no `prompt` was given:
 * OIDC Core §11 lets providers (Authing, node-oidc-provider) drop offline access without it.
 *
 * @throws AuthError `invalid_config` for a per-sign-in `authorizeParams` the library refuses (see
 *   `checkAuthorizeParams`) or a per-sign-in `scope` without `openid`; `invalid_response` when the
 *   discovery document has no `authorization_endpoint`.
 */
export async function createAuthorizationRequest(
  as: oauth.AuthorizationServer,
  config: ResolvedConfig,
  input: SignInOptions & { returnTo: string; now: number },
): Promise<{ params: URLSearchParams; transaction: SignInTransaction }> {
  const perSignInParams = checkAuthorizeParams(input.authorizeParams, 'authorizeParams')
  if (perSignInParams['scope'] !== undefined && !perSignInParams['scope'].split(' ').includes('openid')) {
    throw new AuthError(
      'invalid_config',
      'authorizeParams.scope must include openid: spa-auth signs in with OpenID Connect and needs the ID token.',
    )
  }
  if (as.authorization_endpoint === undefined) {
    throw missingEndpoint(as.issuer, 'authorization_endpoint')
  }
  const codeVerifier = oauth.generateRandomCodeVerifier()
  const transaction: SignInTransaction = {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    codeVerifier,
    redirectUri: config.redirectUri,
    returnTo: input.returnTo,
    createdAt: input.now,
  }
  const { scope = defaultScope(as, config), ...extra } = { ...config.authorizeParams, ...perSignInParams }
  const params = new URLSearchParams(extra)
  if (config.resourceParameter === 'resource')
    for (const resource of config.resources) params.append('resource', resource)
  if (input.prompt !== undefined) params.set('prompt', input.prompt)
  params.set('response_type', 'code')
  params.set('client_id', config.clientId)
  params.set('redirect_uri', transaction.redirectUri)
  params.set('scope', scope)
  params.set('state', transaction.state)
  params.set('nonce', transaction.nonce)
  params.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier))
  params.set('code_challenge_method', 'S256')
  if (scope.split(' ').includes('offline_access') && !params.has('prompt')) params.set('prompt', 'consent')
  return { params, transaction }
}

/** The authorization URL that carries `params` in its query (RFC 6749 §4.1.1). */
export function authorizationUrl(as: oauth.AuthorizationServer, params: URLSearchParams): string {
  const url = new URL(as.authorization_endpoint!)
  for (const [name, value] of params) url.searchParams.append(name, value)
  return url.href
}

/**
 * The configured scope, or the default one: `openid profile offline_access`, without
 * `offline_access` when the provider publishes `scopes_supported` and it is not listed there
 * (django-oauth-toolkit refuses a scope it does not know, after the user has logged in).
 */
function defaultScope(as: oauth.AuthorizationServer, config: ResolvedConfig): string {
  const supported = as.scopes_supported
  if (!config.scopeIsDefault || !Array.isArray(supported) || supported.includes('offline_access')) return config.scope
  return DEFAULT_SCOPE.split(' ')
    .filter((scope) => scope !== 'offline_access')
    .join(' ')
}

/**
 * Whether this sign-in pushes its request (RFC 9126): always when the provider requires it,
 * never when the app said `'never'` (then a provider that requires it is an error), else when
 * discovery lists the endpoint (`'auto'`) or the app asked for it (`'always'`).
 *
 * @throws AuthError `invalid_config` when `par` contradicts what the provider offers or requires.
 */
export function shouldPush(as: oauth.AuthorizationServer, mode: ResolvedConfig['par']): boolean {
  const offered = typeof as.pushed_authorization_request_endpoint === 'string'
  const required = as.require_pushed_authorization_requests === true
  if (mode === 'never' && required) {
    throw new AuthError('invalid_config', `${as.issuer} requires pushed authorization requests; remove par: 'never'.`)
  }
  if (mode === 'always' && !offered) {
    throw new AuthError(
      'invalid_config',
      `par is 'always', but ${as.issuer} lists no pushed_authorization_request_endpoint. Turn PAR on at the provider, or set par: 'auto'.`,
    )
  }
  return required || (mode !== 'never' && offered)
}

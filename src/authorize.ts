import * as oauth from 'oauth4webapi'
import { checkAuthorizeParams, type ResolvedConfig } from './config.js'
import { AuthError } from './errors.js'

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
}

/**
 * Returns `returnTo` as a normalised path on `origin` (path, query and hash), or throws.
 *
 * The input must start with `/`; it is then resolved with `URL` against `origin` (dot segments,
 * backslashes, tabs and newlines are resolved the way a browser resolves them) and the RESULT is
 * checked: the same origin, and a path starting with exactly one `/` and holding no `\` — both
 * as is and once percent-decoded, for a router or server that decodes the path before using it
 * (`/%2f%2fevil.example`). The query and hash are kept as they are. Examples: `/a/../b` → `/b`; `/..//evil.example` is refused.
 *
 * @param origin The page's origin, e.g. `https://app.example.com`.
 * @throws AuthError `invalid_return_to` for anything that does not stay a path on `origin` (no open
 *   redirect; DESIGN §6.4 and §6.10).
 */
export function sameOriginPath(returnTo: string, origin: string): string {
  const resolved = typeof returnTo === 'string' && returnTo.startsWith('/') ? new URL(returnTo, origin) : undefined
  if (
    resolved === undefined ||
    resolved.origin !== origin ||
    !isSinglePath(resolved.pathname) ||
    !isSinglePath(decoded(resolved.pathname))
  ) {
    throw new AuthError(
      'invalid_return_to',
      `returnTo must be a path on this site such as "/orders"; ${JSON.stringify(returnTo)} is refused because it could lead to another site (open redirect).`,
    )
  }
  return resolved.pathname + resolved.search + resolved.hash
}

/** One leading `/` not followed by another, and no `\`: a path no browser reads as another host. */
function isSinglePath(path: string | undefined): boolean {
  return path !== undefined && /^\/(?!\/)/.test(path) && !path.includes('\\')
}

function decoded(path: string): string | undefined {
  try {
    return decodeURIComponent(path)
  } catch {
    return undefined // malformed percent-encoding: refused rather than guessed at
  }
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
  input: { returnTo: string; now: number; authorizeParams?: Record<string, string> | undefined },
): Promise<{ url: string; transaction: SignInTransaction }> {
  const perSignInParams = checkAuthorizeParams(input.authorizeParams, 'authorizeParams')
  if (perSignInParams['scope'] !== undefined && !perSignInParams['scope'].split(' ').includes('openid')) {
    throw new AuthError(
      'invalid_config',
      'authorizeParams.scope must include openid: spa-auth signs in with OpenID Connect and needs the ID token.',
    )
  }
  if (as.authorization_endpoint === undefined) {
    throw new AuthError('invalid_response', `The provider's discovery document has no authorization_endpoint.`)
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
  const url = new URL(as.authorization_endpoint)
  const { scope = config.scope, ...extra } = { ...config.authorizeParams, ...perSignInParams }
  for (const [name, value] of Object.entries(extra)) url.searchParams.set(name, value)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('client_id', config.clientId)
  url.searchParams.set('redirect_uri', transaction.redirectUri)
  url.searchParams.set('scope', scope)
  url.searchParams.set('state', transaction.state)
  url.searchParams.set('nonce', transaction.nonce)
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier))
  url.searchParams.set('code_challenge_method', 'S256')
  const scopes = url.searchParams.get('scope')!.split(' ')
  if (scopes.includes('offline_access') && !url.searchParams.has('prompt')) {
    url.searchParams.set('prompt', 'consent')
  }
  return { url: url.href, transaction }
}

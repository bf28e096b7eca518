/**
 * The authorization endpoint (OIDC Core §3.1.2) and RP-initiated logout (OpenID Connect
 * RP-Initiated Logout 1.0 §2). There is no login page: the test decides who signs in, and the
 * endpoint answers with the redirect a real provider sends once the user has logged in and consented.
 */
import type { TestUser } from './grants.js'
import { page, redirect, type IncomingRequest } from './http.js'
import type { ServerContext } from './context.js'

/** What the user does on the provider's pages: sign in as `user`, or refuse (`error`, e.g. `access_denied`). */
export type AuthorizeDecision = { user: TestUser } | { error: string; description?: string }

/**
 * Answers the authorization request `url` with the callback URL the browser is redirected to: a
 * code bound to the PKCE challenge, the nonce and the redirect URI, with `state` and `iss` (RFC 9207).
 *
 * Offline access follows OIDC Core §11 as oidc-provider and Authing apply it: `offline_access` is
 * granted (and a refresh token issued) only when the request also has `prompt=consent`, which
 * spa-auth adds by itself.
 *
 * @throws Error when the request must not be redirected (RFC 6749 §4.1.2.1): unknown client,
 *   unregistered redirect URI.
 */
export function authorize(context: ServerContext, url: URL, decision: AuthorizeDecision): string {
  const { settings } = context
  const params = url.searchParams
  const clientId = params.get('client_id')
  const redirectUri = params.get('redirect_uri') ?? ''
  if (clientId !== settings.clientId) {
    throw new Error(
      `The authorization request names client_id "${clientId}"; the test provider's client is "${settings.clientId}".`,
    )
  }
  if (!settings.redirectUris.includes(redirectUri)) {
    throw new Error(
      `The authorization request's redirect_uri "${redirectUri}" is not registered at the test provider (registered: ${settings.redirectUris.join(', ')}). Pass it as redirectUris to createTestProvider.`,
    )
  }
  const callback = new URL(redirectUri)
  const respond = (answer: Record<string, string>) => {
    for (const [name, value] of Object.entries(answer)) callback.searchParams.set(name, value)
    const state = params.get('state')
    if (state !== null) callback.searchParams.set('state', state)
    callback.searchParams.set('iss', settings.issuer)
    return callback.href
  }
  const refused = refusal(params)
  if (refused) return respond(refused)
  if ('error' in decision) {
    return respond({
      error: decision.error,
      error_description: decision.description ?? 'The user refused the sign-in.',
    })
  }
  if (typeof decision.user.sub !== 'string' || decision.user.sub === '') {
    throw new TypeError('The signed-in user needs a "sub" claim (a non-empty string).')
  }
  const now = context.now()
  const code = context.ledger.issueCode(
    { clientId, user: structuredClone(decision.user), scope: grantedScope(params), authTime: Math.floor(now / 1000) },
    {
      redirectUri,
      codeChallenge: params.get('code_challenge')!,
      nonce: params.get('nonce') ?? undefined,
      jkt: params.get('dpop_jkt') ?? undefined,
    },
    now,
  )
  return respond({ code })
}

/** The error a correct provider redirects with for a malformed request, or `undefined`. */
function refusal(params: URLSearchParams): Record<string, string> | undefined {
  if (params.get('response_type') !== 'code') {
    return { error: 'unsupported_response_type', error_description: 'Only response_type=code is supported.' }
  }
  if (!(params.get('scope') ?? '').split(' ').includes('openid')) {
    return { error: 'invalid_scope', error_description: 'The scope must include "openid".' }
  }
  if (!params.get('code_challenge') || params.get('code_challenge_method') !== 'S256') {
    return { error: 'invalid_request', error_description: 'PKCE with code_challenge_method=S256 is required.' }
  }
  return undefined
}

function grantedScope(params: URLSearchParams): string {
  const scopes = (params.get('scope') ?? '').split(' ').filter(Boolean)
  const consent = (params.get('prompt') ?? '').split(' ').includes('consent')
  return [...new Set(scopes)].filter((scope) => scope !== 'offline_access' || consent).join(' ')
}

/**
 * RP-initiated logout: redirects to `post_logout_redirect_uri` when it is registered (with
 * `state`), else shows a signed-out page. Tokens issued with offline access stay valid, as at
 * oidc-provider; the app revokes its refresh token itself (spa-auth does, before it redirects).
 */
export function handleEndSession(context: ServerContext, request: IncomingRequest): Response {
  const params = request.method === 'POST' ? request.form : request.url.searchParams
  const target = params.get('post_logout_redirect_uri')
  if (target === null || !context.settings.postLogoutRedirectUris.includes(target)) {
    return page('You are signed out.')
  }
  const url = new URL(target)
  const state = params.get('state')
  if (state !== null) url.searchParams.set('state', state)
  return redirect(url.href)
}

/**
 * The token endpoint (RFC 6749 §3.2) for a public client: the authorization code grant with PKCE
 * (RFC 7636 §4.6) and the refresh token grant with optional rotation, both optionally DPoP-bound
 * (RFC 9449 §5); and token revocation (RFC 7009). ID tokens are signed JWTs (OIDC Core §2).
 */
import { readDpopProof } from './dpop-proof.js'
import type { Grant } from './grants.js'
import { json, oauthError, type IncomingRequest } from './http.js'
import { sha256, signJwt } from './jws.js'
import type { ServerContext } from './context.js'

/** Claims the provider sets itself; a test user's claims of the same names are ignored. */
const PROTOCOL_CLAIMS = ['iss', 'sub', 'aud', 'azp', 'exp', 'iat', 'nbf', 'auth_time', 'nonce', 'jti', 'cnf']

/**
 * Answers a token request. Errors are RFC 6749 §5.2's: `invalid_client` (401) for another client,
 * `invalid_grant` for a code or refresh token that is unknown, spent, expired, revoked, bound to
 * another DPoP key or failing PKCE, `invalid_dpop_proof` for a bad proof.
 */
export async function handleTokenRequest(context: ServerContext, request: IncomingRequest): Promise<Response> {
  const { form } = request
  if (request.method !== 'POST') return oauthError('invalid_request', 'The token endpoint accepts POST only.', 405)
  if (form.get('client_id') !== context.settings.clientId) {
    return oauthError('invalid_client', `The client "${form.get('client_id')}" is not registered.`, 401)
  }
  const proof = await readDpopProof(request, { now: context.now(), seen: context.seenJtis })
  if (proof?.ok === false) return oauthError('invalid_dpop_proof', proof.reason)
  if (context.settings.requireDpop && proof === undefined) {
    return oauthError('invalid_request', 'This client must send a DPoP proof (DPoP-bound tokens are required).')
  }
  switch (form.get('grant_type')) {
    case 'authorization_code':
      return exchangeCode(context, form, proof?.jkt)
    case 'refresh_token':
      return refresh(context, form, proof?.jkt)
    default:
      return oauthError('unsupported_grant_type', `grant_type "${form.get('grant_type')}" is not supported.`)
  }
}

async function exchangeCode(context: ServerContext, form: URLSearchParams, jkt: string | undefined): Promise<Response> {
  const redeemed = context.ledger.redeemCode(form.get('code') ?? '', context.now())
  if (!redeemed.ok) return oauthError('invalid_grant', redeemed.reason)
  const code = redeemed.value
  if (form.get('redirect_uri') !== code.redirectUri) {
    return oauthError('invalid_grant', 'redirect_uri does not match the authorization request.')
  }
  const verifier = form.get('code_verifier')
  if (verifier === null || (await sha256(verifier)) !== code.codeChallenge) {
    return oauthError('invalid_grant', 'PKCE verification failed (code_verifier does not match code_challenge).')
  }
  if (code.jkt !== undefined && code.jkt !== jkt) {
    return oauthError('invalid_grant', 'The DPoP proof key does not match the dpop_jkt of the authorization request.')
  }
  const offline = code.grant.scope.split(' ').includes('offline_access')
  return tokenResponse(context, code.grant, { jkt, nonce: code.nonce, refreshToken: offline ? 'new' : 'none' })
}

async function refresh(context: ServerContext, form: URLSearchParams, jkt: string | undefined): Promise<Response> {
  const token = form.get('refresh_token') ?? ''
  const rotate = context.settings.rotateRefreshTokens
  const redeemed = context.ledger.redeemRefreshToken(token, { rotate, jkt }, context.now())
  if (!redeemed.ok) return oauthError('invalid_grant', redeemed.reason)
  const { grant } = redeemed.value
  // RFC 9449 §5: a bound refresh token keeps its key; new tokens are bound to it.
  const boundTo = redeemed.value.jkt ?? jkt
  return tokenResponse(context, grant, { jkt: boundTo, nonce: undefined, refreshToken: rotate ? 'new' : token })
}

/** Issues the tokens of `grant`; `refreshToken`: a new one, none, or the one presented (no rotation). */
async function tokenResponse(
  context: ServerContext,
  grant: Grant,
  input: { jkt: string | undefined; nonce: string | undefined; refreshToken: 'new' | 'none' | (string & {}) },
): Promise<Response> {
  const { settings } = context
  const now = context.now()
  const issued = context.ledger.issueTokens(
    grant,
    {
      jkt: input.jkt,
      accessTtlMs: settings.accessTokenTtlMs,
      refreshTtlMs: input.refreshToken === 'new' ? settings.refreshTokenTtlMs : undefined,
    },
    now,
  )
  const refreshToken = input.refreshToken === 'new' ? issued.refreshToken : input.refreshToken
  const idToken = grant.scope.split(' ').includes('openid')
    ? await signJwt(await context.signingKey(), idTokenClaims(context, grant, input.nonce, now))
    : undefined
  return json({
    access_token: issued.accessToken,
    token_type: input.jkt === undefined ? 'Bearer' : 'DPoP',
    expires_in: Math.round(settings.accessTokenTtlMs / 1000),
    scope: grant.scope,
    ...(idToken === undefined ? {} : { id_token: idToken }),
    ...(refreshToken === 'none' ? {} : { refresh_token: refreshToken }),
  })
}

/**
 * The ID token's claims (OIDC Core §2, §3.1.3.6): the user's claims, then the protocol's. A refresh
 * issues one with the same `sub` and `auth_time` and no `nonce` (§12.2).
 */
function idTokenClaims(
  context: ServerContext,
  grant: Grant,
  nonce: string | undefined,
  now: number,
): Record<string, unknown> {
  const iat = Math.floor(now / 1000)
  const claims: Record<string, unknown> = { ...grant.user }
  for (const name of PROTOCOL_CLAIMS) delete claims[name]
  return {
    ...claims,
    iss: context.settings.issuer,
    sub: grant.user.sub,
    aud: grant.clientId,
    azp: grant.clientId,
    iat,
    exp: iat + Math.round(context.settings.idTokenTtlMs / 1000),
    auth_time: grant.authTime,
    ...(nonce === undefined ? {} : { nonce }),
  }
}

/** Token revocation (RFC 7009 §2): always 200 for the right client, whatever the token (§2.2). */
export function handleRevocation(context: ServerContext, request: IncomingRequest): Response {
  if (request.method !== 'POST') return oauthError('invalid_request', 'The revocation endpoint accepts POST only.', 405)
  if (request.form.get('client_id') !== context.settings.clientId) {
    return oauthError('invalid_client', `The client "${request.form.get('client_id')}" is not registered.`, 401)
  }
  const token = request.form.get('token')
  if (token === null) return oauthError('invalid_request', 'The "token" parameter is missing.')
  context.ledger.revokeToken(token)
  return new Response(null, { status: 200 })
}

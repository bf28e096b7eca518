/**
 * Protected resources of the test provider: the userinfo endpoint (OIDC Core §5.3), and the access
 * token check it shares with an app's own API handler — Bearer (RFC 6750 §2.1) or DPoP-bound
 * (RFC 9449 §7: `Authorization: DPoP`, a proof with `ath`, the token's `cnf.jkt`).
 */
import { readDpopProof } from './dpop-proof.js'
import type { AccessTokenInfo } from './grants.js'
import { json, tokenChallenge, type IncomingRequest } from './http.js'
import type { ServerContext } from './context.js'

/** The checked token, or the 401 to answer (with its `WWW-Authenticate` challenge). */
export type AccessTokenCheck = { ok: true; info: AccessTokenInfo } | { ok: false; challenge: Response }

/** Checks the access token `request` carries, with its DPoP proof when the token is bound. */
export async function checkAccessToken(context: ServerContext, request: IncomingRequest): Promise<AccessTokenCheck> {
  const match = /^(Bearer|DPoP) +(\S+)$/i.exec(request.headers.get('authorization') ?? '')
  if (match === null) return refuse('Bearer', 'invalid_request', 'No access token was sent.')
  const scheme = match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer'
  const token = match[2]!
  const record = context.ledger.findAccessToken(token, context.now())
  if (record === undefined) return refuse(scheme, 'invalid_token', 'The access token is unknown, expired or revoked.')
  const info: AccessTokenInfo = {
    sub: record.grant.user.sub,
    user: record.grant.user,
    scope: record.grant.scope,
    clientId: record.grant.clientId,
    tokenType: scheme,
    expiresAt: record.expiresAt,
  }
  if (record.jkt === undefined) {
    return scheme === 'Bearer' ? { ok: true, info } : refuse('DPoP', 'invalid_token', 'This is a Bearer token.')
  }
  if (scheme !== 'DPoP') return refuse('DPoP', 'invalid_token', 'This token is DPoP-bound: send it with a DPoP proof.')
  const proof = await readDpopProof(request, { now: context.now(), seen: context.seenJtis, accessToken: token })
  if (proof === undefined) return refuse('DPoP', 'invalid_dpop_proof', 'The DPoP proof is missing.')
  if (!proof.ok) return refuse('DPoP', 'invalid_dpop_proof', proof.reason)
  if (proof.jkt !== record.jkt)
    return refuse('DPoP', 'invalid_token', 'The proof key is not the key the token is bound to.')
  return { ok: true, info }
}

function refuse(scheme: 'Bearer' | 'DPoP', error: string, description: string): AccessTokenCheck {
  return { ok: false, challenge: tokenChallenge(scheme, error, description) }
}

/** The userinfo endpoint: the user's claims for a valid access token. */
export async function handleUserinfo(context: ServerContext, request: IncomingRequest): Promise<Response> {
  const checked = await checkAccessToken(context, request)
  if (!checked.ok) return checked.challenge
  const { user } = checked.info
  return json({ ...user, sub: user.sub })
}

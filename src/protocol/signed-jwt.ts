/**
 * A JWT the provider signed and oauth4webapi has processed (an ID token, a signed userinfo answer):
 * its signature verified against the provider's JWKS, and oauth4webapi's failures sorted by what
 * went wrong, so each kind of answer names them with its own codes.
 */
import * as oauth from 'oauth4webapi'
import type { Transport } from './transport.js'

/**
 * The signing algorithms accepted from the provider: asymmetric, so the browser needs no secret to
 * verify them, and the two every provider offers. `HS*` and `none` are never accepted.
 */
export const SIGNING_ALGORITHMS: readonly string[] = ['RS256', 'ES256']

/**
 * Verifies the signature of the JWT in a response oauth4webapi has processed (the ID token of a
 * token response, or a userinfo response that was a JWT) against the provider's JWKS; oauth4webapi
 * refuses `HS*` there (a browser holds no secret to check them with). A `kid` the cached key set has
 * never seen makes one immediate re-fetch: oauth4webapi re-fetches only a copy older than 60 s, and
 * a provider that rotates its signing key between two requests must not lose the user. Resolves the
 * discovery document to use from now on (a copy that carries the new key set when one was fetched).
 *
 * @throws what oauth4webapi throws (see {@link classifyJwtFailure}), and the transport's AuthErrors.
 */
export async function verifySignature(
  as: oauth.AuthorizationServer,
  raw: Response,
  transport: Transport,
): Promise<oauth.AuthorizationServer> {
  try {
    await oauth.validateApplicationLevelSignature(as, raw, transport.options())
    return as
  } catch (error) {
    if (!isUnseenKey(error)) throw error
  }
  // oauth4webapi caches key sets per discovery object: a copy starts with none.
  const fresh = { ...as }
  await oauth.validateApplicationLevelSignature(fresh, raw, transport.options())
  return fresh
}

function isUnseenKey(error: unknown): boolean {
  if (!(error instanceof oauth.OperationProcessingError) || error.code !== oauth.KEY_SELECTION) return false
  const cause = error.cause as { header?: { kid?: unknown }; candidates?: unknown[] } | undefined
  return typeof cause?.header?.kid === 'string' && cause.candidates?.length === 0
}

/** What was wrong with a signed JWT, as oauth4webapi reported it. */
export type JwtFailure =
  /** Signed with an algorithm that is refused (`HS*`, `none`, or one the provider or client does not allow). */
  | { kind: 'algorithm'; alg: string }
  /** Its `exp` has passed, beyond the clock tolerance. */
  | { kind: 'expired' }
  /** A claim compared with what was expected (`iss`, `aud`, `nonce`, `auth_time`, `nbf`, …) is wrong. */
  | { kind: 'claim'; claim: string | undefined; detail: string }
  /** The signature does not verify, or no published key fits it. */
  | { kind: 'signature'; detail: string }
  /** It is encrypted (a compact JWE), which this client cannot decrypt. */
  | { kind: 'encrypted' }

/**
 * Sorts a failure oauth4webapi reported while processing or verifying a signed JWT, by its error
 * class, code and the structured `cause` it attaches (never by message text); `undefined` for a
 * failure that is not about the JWT (the transport, an OAuth error answer).
 */
export function classifyJwtFailure(error: unknown): JwtFailure | undefined {
  const cause = (error as { cause?: unknown } | undefined)?.cause
  // oauth4webapi keeps the JWE itself as the cause of its "JWE decryption is not configured".
  if (error instanceof oauth.UnsupportedOperationError && typeof cause === 'string' && cause.split('.').length === 5) {
    return { kind: 'encrypted' }
  }
  const fields = typeof cause === 'object' && cause !== null ? (cause as Record<string, unknown>) : undefined
  const header = fields?.['header'] as { alg?: unknown } | undefined
  const alg = fields?.['alg'] ?? header?.alg
  const unsupported = error instanceof oauth.UnsupportedOperationError && typeof alg === 'string'
  const unexpected = error instanceof oauth.OperationProcessingError && typeof alg === 'string' && 'expected' in fields!
  if (unsupported || unexpected) return { kind: 'algorithm', alg: alg as string }
  if (!(error instanceof oauth.OperationProcessingError)) return undefined
  const claim = typeof fields?.['claim'] === 'string' ? fields['claim'] : undefined
  if (error.code === oauth.JWT_TIMESTAMP_CHECK && claim === 'exp') return { kind: 'expired' }
  if (error.code === oauth.JWT_TIMESTAMP_CHECK || error.code === oauth.JWT_CLAIM_COMPARISON) {
    return { kind: 'claim', claim, detail: error.message }
  }
  const signatureFailed = fields !== undefined && 'signature' in fields && 'key' in fields
  if (error.code === oauth.KEY_SELECTION || signatureFailed) return { kind: 'signature', detail: error.message }
  return undefined
}

/**
 * Checks a DPoP proof (RFC 9449 §4.3) the way a provider or resource server must: its own ES256
 * signature with the public key in its header, `typ`, `htm`, `htu`, `iat`, a `jti` never seen
 * before, and `ath` when it comes with an access token.
 */
import type { IncomingRequest } from './http.js'
import { decodeJws, jwkThumbprint, sha256, verifyEs256 } from './jws.js'

/** How far a proof's `iat` may be from the provider's clock. */
const IAT_WINDOW_MS = 60_000

/** What a proof must match. */
export interface ProofExpectation {
  method: string
  url: URL
  /** The provider's clock, epoch ms. */
  now: number
  /**
   * The clock the test runs on (`Date.now()`), epoch ms. oauth4webapi's DPoP handle keeps the clock
   * offset it was created with, so after the test moved the browser's clock its proofs may carry
   * the unmoved time: both are accepted.
   */
  wallClock: number
  /** The access token the proof comes with, for `ath` (resource requests only). */
  accessToken?: string
  /** `jti`s already used, shared by every endpoint of the provider. */
  seen: Set<string>
}

/** The proof's key thumbprint (`jkt`), or why the proof is refused. */
export type ProofResult = { ok: true; jkt: string } | { ok: false; reason: string }

/** Validates the `DPoP` header value `proof` against `expected`. */
export async function checkDpopProof(proof: string, expected: ProofExpectation): Promise<ProofResult> {
  const jws = decodeJws(proof)
  if (jws === undefined) return { ok: false, reason: 'the DPoP proof is not a JWS' }
  const { header, payload } = jws
  const jwk = header['jwk'] as JsonWebKey | undefined
  if (header['typ'] !== 'dpop+jwt') return { ok: false, reason: 'the DPoP proof has no "typ": "dpop+jwt"' }
  if (header['alg'] !== 'ES256') return { ok: false, reason: 'only ES256 DPoP proofs are accepted' }
  if (typeof jwk !== 'object' || jwk === null || jwk.kty !== 'EC' || jwk.crv !== 'P-256' || 'd' in jwk) {
    return { ok: false, reason: 'the DPoP proof\'s "jwk" is not a public P-256 key' }
  }
  if (!(await verifyEs256(jwk, jws))) return { ok: false, reason: 'the DPoP proof signature does not verify' }
  if (payload['htm'] !== expected.method) return { ok: false, reason: 'the DPoP proof "htm" does not match' }
  if (payload['htu'] !== withoutQuery(expected.url)) return { ok: false, reason: 'the DPoP proof "htu" does not match' }
  const iat = payload['iat']
  if (typeof iat !== 'number' || !withinWindow(iat * 1000, expected)) {
    return { ok: false, reason: 'the DPoP proof "iat" is too far from the provider\'s clock' }
  }
  const jti = payload['jti']
  if (typeof jti !== 'string' || jti === '') return { ok: false, reason: 'the DPoP proof has no "jti"' }
  if (expected.seen.has(jti)) return { ok: false, reason: 'the DPoP proof was already used (same "jti")' }
  if (expected.accessToken !== undefined && payload['ath'] !== (await sha256(expected.accessToken))) {
    return { ok: false, reason: 'the DPoP proof "ath" does not match the access token' }
  }
  expected.seen.add(jti)
  return { ok: true, jkt: await jwkThumbprint(jwk) }
}

/**
 * Reads and checks the `DPoP` header of `request`: `undefined` when there is none. The test runs
 * on `Date.now()` (fake timers move it); the provider's clock may be ahead of it (`now`).
 */
export async function readDpopProof(
  request: IncomingRequest,
  input: { now: number; seen: Set<string>; accessToken?: string },
): Promise<ProofResult | undefined> {
  const header = request.headers.get('dpop')
  if (header === null) return undefined
  // Headers joins repeated fields with ", ": RFC 9449 §4.3 allows exactly one proof.
  if (header.includes(',')) return { ok: false, reason: 'a request carries exactly one DPoP proof' }
  return checkDpopProof(header, { ...input, method: request.method, url: request.url, wallClock: Date.now() })
}

/** RFC 9449 §4.3: `htu` is compared without query and fragment. */
function withoutQuery(url: URL): string {
  return `${url.origin}${url.pathname}`
}

function withinWindow(iatMs: number, expected: ProofExpectation): boolean {
  const earliest = Math.min(expected.now, expected.wallClock) - IAT_WINDOW_MS
  const latest = Math.max(expected.now, expected.wallClock) + IAT_WINDOW_MS
  return iatMs >= earliest && iatMs <= latest
}

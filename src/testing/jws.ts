/**
 * JSON Web Signatures with the platform's WebCrypto only (RFC 7515, RFC 7518 §3.3 and §3.4): the
 * test provider's signing keys and JWKS, the JWTs it signs, and the ES256 check of DPoP proofs.
 */

/** The algorithms the test provider signs ID tokens with. */
export type SigningAlgorithm = 'RS256' | 'ES256'

/** A private signing key and the public JWK the provider publishes for it. */
export interface SigningKey {
  readonly kid: string
  readonly alg: SigningAlgorithm
  readonly privateKey: CryptoKey
  readonly publicJwk: JsonWebKey & { kid: string; alg: SigningAlgorithm; use: 'sig' }
}

/** A JWS in compact serialization, taken apart; nothing in it is verified yet. */
export interface DecodedJws {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  signingInput: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

const PARAMS = {
  RS256: {
    generate: {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
  },
  ES256: {
    generate: { name: 'ECDSA', namedCurve: 'P-256' },
    sign: { name: 'ECDSA', hash: 'SHA-256' },
  },
} as const

const encoder = new TextEncoder()

/** Base64url without padding (RFC 7515 §2). */
export function base64url(input: ArrayBuffer | Uint8Array | string): string {
  const bytes = typeof input === 'string' ? encoder.encode(input) : new Uint8Array(input)
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Decodes base64url; throws on anything else. */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError('not base64url')
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  return Uint8Array.from(binary, (char) => char.charCodeAt(0))
}

/** A random, URL-safe value of `bytes` random bytes: codes, tokens, key ids. */
export function randomValue(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)))
}

/** Base64url of the SHA-256 of `text`: PKCE S256 (RFC 7636 §4.2), DPoP `ath` (RFC 9449 §4.2). */
export async function sha256(text: string): Promise<string> {
  return base64url(await crypto.subtle.digest('SHA-256', encoder.encode(text)))
}

/** A new key pair for `alg`; the private key cannot be exported, the public one is published. */
export async function generateSigningKey(alg: SigningAlgorithm): Promise<SigningKey> {
  const pair = (await crypto.subtle.generateKey(PARAMS[alg].generate, false, ['sign', 'verify'])) as CryptoKeyPair
  const exported = await crypto.subtle.exportKey('jwk', pair.publicKey)
  const kid = randomValue(8)
  // The public members only (no `key_ops`, `ext`), then what the JWKS says about the key.
  const members = alg === 'RS256' ? (['kty', 'n', 'e'] as const) : (['kty', 'crv', 'x', 'y'] as const)
  const publicJwk: JsonWebKey = {}
  for (const name of members) publicJwk[name] = exported[name]!
  return { kid, alg, privateKey: pair.privateKey, publicJwk: { ...publicJwk, kid, alg, use: 'sig' } }
}

/** Signs `payload` as a compact JWS with `key` (header `alg`, `kid`, `typ`). */
export async function signJwt(key: SigningKey, payload: Record<string, unknown>, typ = 'JWT'): Promise<string> {
  const header = base64url(JSON.stringify({ alg: key.alg, kid: key.kid, typ }))
  const input = `${header}.${base64url(JSON.stringify(payload))}`
  const signature = await crypto.subtle.sign(PARAMS[key.alg].sign, key.privateKey, encoder.encode(input))
  return `${input}.${base64url(signature)}`
}

/** Splits a compact JWS and parses its header and payload; `undefined` when it is not one. */
export function decodeJws(token: string): DecodedJws | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  const [header, payload, signature] = parts as [string, string, string]
  try {
    const parse = (part: string): unknown => JSON.parse(new TextDecoder().decode(fromBase64url(part)))
    const decoded = { header: parse(header), payload: parse(payload) }
    if (!isObject(decoded.header) || !isObject(decoded.payload)) return undefined
    return {
      header: decoded.header,
      payload: decoded.payload,
      signingInput: encoder.encode(`${header}.${payload}`),
      signature: fromBase64url(signature),
    }
  } catch {
    return undefined
  }
}

/** Whether `jws` is signed with ES256 by the public P-256 key `jwk` (a DPoP proof's own key). */
export async function verifyEs256(jwk: JsonWebKey, jws: DecodedJws): Promise<boolean> {
  try {
    const publicJwk: JsonWebKey = { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! }
    const key = await crypto.subtle.importKey('jwk', publicJwk, PARAMS.ES256.generate, false, ['verify'])
    return await crypto.subtle.verify(PARAMS.ES256.sign, key, jws.signature, jws.signingInput)
  } catch {
    return false
  }
}

/** The JWK SHA-256 thumbprint of a P-256 public key (RFC 7638 §3), as DPoP's `jkt` (RFC 9449 §6.1). */
export function jwkThumbprint(jwk: JsonWebKey): Promise<string> {
  // RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
  return sha256(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }))
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

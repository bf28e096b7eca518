import { reviveAuthError, type AuthError, type AuthErrorData } from '../platform/errors.js'
import type { TokenSet, UserClaims } from '../protocol/token-set.js'

/** The schema version this library writes. A record of any other version is not trusted. */
export const RECORD_VERSION = 1

/**
 * How the refreshes of a session are failing, kept in the record so every tab sees the same
 * backoff: whichever tab holds the lock when `retryAt` comes tries once, and the others follow.
 */
export interface RefreshFailure extends AuthErrorData {
  /** Consecutive failed attempts. */
  attempts: number
  /** No tab tries again before this instant (epoch ms). */
  retryAt: number
  /** Consecutive attempts the token endpoint did not answer at all (CORS on error answers, offline). */
  unanswered: number
}

/** An access token for one API (RFC 8707 resource, or audience), obtained with the session's refresh token. */
export type ResourceToken = Pick<TokenSet, 'accessToken' | 'tokenType' | 'issuedAt' | 'expiresAt' | 'scope'>

/**
 * What the store keeps under `session:<issuer>|<clientId>`: one value per session, written whole,
 * so the tokens, the claims and the DPoP key they are bound to always change together.
 */
export interface SessionRecord {
  v: typeof RECORD_VERSION
  /** Random, new per sign-in: a result computed for another generation is never written. */
  generation: string
  /** Incremented by every change of this generation (refresh, failure bookkeeping). */
  revision: number
  tokens: TokenSet
  claims: UserClaims
  /** The non-extractable DPoP key pair the tokens are bound to (`dpop: true` only). */
  dpopKey?: CryptoKeyPair
  /** Present while refreshes fail and the session is kept. */
  failure?: RefreshFailure
  /** Tokens for other APIs, by resource indicator (`getAccessToken({ resource })`). */
  resources?: Record<string, ResourceToken>
}

/** What a stored value turned out to be. */
export type StoredSession =
  | { kind: 'empty' }
  | { kind: 'record'; record: SessionRecord; migrated: boolean }
  | { kind: 'unreadable'; detail: string }

/** A fresh record for a new sign-in. */
export function createRecord(input: {
  generation: string
  tokens: TokenSet
  claims: UserClaims
  dpopKey: CryptoKeyPair | undefined
}): SessionRecord {
  const record: SessionRecord = {
    v: RECORD_VERSION,
    generation: input.generation,
    revision: 0,
    tokens: input.tokens,
    claims: input.claims,
  }
  if (input.dpopKey) record.dpopKey = input.dpopKey
  return record
}

/** The next revision of `record` with `changes` applied; `failure: undefined` clears a failure. */
export function reviseRecord(
  record: SessionRecord,
  changes: {
    tokens?: TokenSet
    claims?: UserClaims
    failure?: RefreshFailure | undefined
    resources?: Record<string, ResourceToken>
  },
): SessionRecord {
  const { failure, ...rest } = { ...record, ...changes, revision: record.revision + 1 }
  return failure === undefined ? rest : { ...rest, failure }
}

/** The access token of `record` for `resource` (the session's own without one), if it holds one. */
export function tokensFor(record: SessionRecord, resource: string | undefined): ResourceToken | undefined {
  return resource === undefined ? record.tokens : record.resources?.[resource]
}

/** The error every tab reports while the shared refresh failure of `record` lasts, else `null`. */
export function failureError(record: SessionRecord): AuthError | null {
  const { failure } = record
  // The same error in every tab: the code, the message and the data (status, Retry-After, …).
  return failure ? reviveAuthError(failure) : null
}

/** Whether `a` and `b` are the same revision of the same sign-in. */
export function sameRevision(a: SessionRecord | undefined, b: SessionRecord | undefined): boolean {
  return a !== undefined && b !== undefined && a.generation === b.generation && a.revision === b.revision
}

/**
 * Reads a stored value: a current record, a record of the 0.1 format (`{ tokens, claims }`, given a
 * new `generation`), nothing, or something this library does not understand (another version, a
 * hand edit, another library's key), with a short description of what is wrong.
 */
export function readRecord(value: unknown, newGeneration: () => string): StoredSession {
  if (value === undefined || value === null) return { kind: 'empty' }
  if (!isObject(value)) return { kind: 'unreadable', detail: `a ${typeof value} instead of a session record` }
  const legacy = !('v' in value)
  if (!legacy && value['v'] !== RECORD_VERSION) {
    return { kind: 'unreadable', detail: `record version ${String(value['v'])}, expected ${RECORD_VERSION}` }
  }
  const problem = describeProblem(legacy ? { ...value, generation: '', revision: 0 } : value)
  if (problem !== undefined) return { kind: 'unreadable', detail: problem }
  if (!legacy) return { kind: 'record', record: value as unknown as SessionRecord, migrated: false }
  const { tokens, claims } = value as unknown as Pick<SessionRecord, 'tokens' | 'claims'>
  return {
    kind: 'record',
    record: createRecord({ generation: newGeneration(), tokens, claims, dpopKey: undefined }),
    migrated: true,
  }
}

function describeProblem(value: Record<string, unknown>): string | undefined {
  const { generation, revision, tokens, claims, dpopKey, failure, resources } = value
  if (typeof generation !== 'string' || !Number.isInteger(revision)) return 'no generation or revision'
  if (!isObject(tokens)) return 'no tokens'
  if (typeof tokens['accessToken'] !== 'string' || typeof tokens['tokenType'] !== 'string') return 'no access token'
  if (!optional(tokens['refreshToken'], 'string') || !optional(tokens['idToken'], 'string')) return 'malformed tokens'
  if (!Number.isFinite(tokens['issuedAt']) || !Number.isFinite(tokens['expiresAt'])) return 'no expiry'
  if (!isObject(claims) || typeof claims['sub'] !== 'string' || typeof claims['iss'] !== 'string') return 'no claims'
  if (dpopKey !== undefined && !(isObject(dpopKey) && isObject(dpopKey['privateKey']))) return 'malformed DPoP key'
  if (failure !== undefined && !(isObject(failure) && Number.isFinite(failure['retryAt']))) return 'malformed failure'
  if (resources !== undefined && !(isObject(resources) && Object.values(resources).every(isResourceToken))) {
    return 'malformed resource tokens'
  }
  return undefined
}

function isResourceToken(value: unknown): boolean {
  return isObject(value) && typeof value['accessToken'] === 'string' && Number.isFinite(value['expiresAt'])
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function optional(value: unknown, type: 'string'): boolean {
  return value === undefined || typeof value === type
}

/**
 * No token or code value ever appears in an error, checked over everything a
 * test file saw: the suites note every AuthError they observe (the rejections they assert on, every
 * `error` their clients publish in a snapshot) and every token and code that crossed the network,
 * and an `afterAll` calls {@link expectNoSecretInErrors}.
 *
 * The notes live in this module: Vitest loads it once per test file, so each file checks its own.
 */
import { expect } from 'vitest'
import { isAuthError, type AuthClient, type AuthError } from '../../src/index.js'

const errors = new Set<AuthError>()
const secrets = new Set<string>()

/** Notes `error` when it is an AuthError, and hands it back (for use inside an assertion). */
export function noteError<T>(error: T): T {
  if (isAuthError(error)) errors.add(error)
  return error
}

/** Notes every error `auth` publishes in its snapshot from now on. */
export function watchErrors(auth: AuthClient): void {
  auth.subscribe(() => noteError(auth.getSnapshot().error))
}

/** Notes credential values: tokens a provider issued, codes, verifiers. Empty values are skipped. */
export function noteSecrets(values: Iterable<string | null | undefined>): void {
  for (const value of values) if (value) secrets.add(value)
}

/** Notes the `code` of a callback URL, and hands the URL back. */
export function noteCallback(url: string): string {
  noteSecrets([new URL(url).searchParams.get('code')])
  return url
}

/** Notes the credentials of a token endpoint request's parameters and of its answer's JSON body. */
export function noteTokenExchange(params: URLSearchParams, body: unknown): void {
  noteSecrets(['code', 'code_verifier', 'refresh_token', 'token'].map((name) => params.get(name)))
  if (typeof body !== 'object' || body === null) return
  const { access_token, refresh_token, id_token } = body as Record<string, unknown>
  noteSecrets([access_token, refresh_token, id_token].filter((value) => typeof value === 'string'))
}

/** Notes the credentials a request's headers carry: those of `Authorization`, and the DPoP proof. */
export function noteRequestHeaders(headers: Headers): void {
  noteSecrets([headers.get('authorization')?.replace(/^\S+\s+/, ''), headers.get('dpop')])
}

/**
 * Every string reachable from `value`: each field of every object, read the way a logger or an
 * error tracker reads it — own properties (non-enumerable and symbol-keyed ones too, so an error's
 * `message`, `stack` and `cause`) and every getter up its prototype chain, called on the object —
 * array items, the entries of `URLSearchParams`, `Headers`, `Map` and `Set`, URLs, and the unread
 * bodies of requests and responses.
 *
 * @throws Error naming every field whose getter threw: an error must be readable whole.
 */
export async function textOf(value: unknown): Promise<string> {
  const parts: string[] = []
  const unreadable: string[] = []
  const seen = new WeakSet<object>()
  async function visit(item: unknown, path: string): Promise<void> {
    if (typeof item === 'string') parts.push(item)
    else if (typeof item === 'number' || typeof item === 'bigint') parts.push(String(item))
    if (typeof item !== 'object' || item === null || seen.has(item)) return
    seen.add(item)
    if (item instanceof URL) parts.push(item.href)
    if (ArrayBuffer.isView(item) || item instanceof ArrayBuffer) {
      parts.push(new TextDecoder().decode(item))
      return
    }
    if (item instanceof Request || item instanceof Response) {
      parts.push(item.url)
      if (!item.bodyUsed) parts.push(await item.clone().text())
    }
    if (item instanceof Request || item instanceof Response) await visit(item.headers, `${path}.headers`)
    if (item instanceof URLSearchParams || item instanceof Headers || item instanceof Map || item instanceof Set) {
      for (const entry of item.entries()) await visit(entry, `${path}[entry]`)
    }
    for (const [key, read] of fieldsOf(item)) {
      if (typeof key === 'string') parts.push(key)
      const field = `${path}.${String(key)}`
      try {
        await visit(read(), field)
      } catch (error) {
        unreadable.push(`${field}: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
  }
  await visit(value, 'error')
  if (unreadable.length > 0) throw new Error(`Fields that cannot be read: ${unreadable.join('; ')}`)
  return parts.join('\n')
}

/** Each own field of `object` and each getter of its prototypes (up to `Object.prototype`), as a reader. */
function fieldsOf(object: object): Array<[string | symbol, () => unknown]> {
  const fields = new Map<string | symbol, () => unknown>()
  for (const key of Reflect.ownKeys(object)) {
    const descriptor = Object.getOwnPropertyDescriptor(object, key)!
    fields.set(key, 'value' in descriptor ? () => descriptor.value : () => descriptor.get?.call(object))
  }
  for (let proto = Object.getPrototypeOf(object) as object | null; proto && proto !== Object.prototype;) {
    for (const key of Reflect.ownKeys(proto)) {
      const getter = Object.getOwnPropertyDescriptor(proto, key)!.get
      if (getter && !fields.has(key)) fields.set(key, () => getter.call(object))
    }
    proto = Object.getPrototypeOf(proto) as object | null
  }
  return [...fields]
}

/**
 * Expects that no noted error, serialized with its whole cause chain by {@link textOf}, contains a
 * noted token or code — as is, or as a body echoing a request would show it — and that at least
 * `minimum` errors and secrets were noted (so the check cannot pass by seeing nothing).
 */
export async function expectNoSecretInErrors(minimum: { errors: number; secrets: number }): Promise<void> {
  expect(errors.size, 'AuthErrors checked').toBeGreaterThanOrEqual(minimum.errors)
  expect(secrets.size, 'tokens and codes checked').toBeGreaterThanOrEqual(minimum.secrets)
  const leaks: string[] = []
  for (const error of errors) {
    const text = await textOf(error)
    for (const secret of secrets) {
      if (echoesOf(secret).some((echo) => text.includes(echo))) {
        leaks.push(`${error.code} (${error.message}) holds ${secret.slice(0, 12)}…`)
      }
    }
  }
  expect(leaks).toEqual([])
}

/**
 * The forms a body that echoes a request shows `secret` in: as sent, percent-encoded (a form body,
 * a query) and JSON-escaped.
 */
function echoesOf(secret: string): string[] {
  const form = new URLSearchParams({ s: secret }).toString().slice(2)
  return [...new Set([secret, encodeURIComponent(secret), form, JSON.stringify(secret).slice(1, -1)])]
}

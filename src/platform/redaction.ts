/**
 * Credentials out of whatever an error keeps as its cause: the copy every `AuthError` holds
 * instead of the original, so logging or reporting an error never leaks a token.
 */

/** Names whose values are credentials, wherever they appear (bodies, parameters, headers). */
const SECRET_NAMES = new Set([
  'access_token',
  'refresh_token',
  'id_token',
  'code',
  'code_verifier',
  'client_secret',
  'client_assertion',
  'assertion',
  'token',
  'logout_token',
  'authorization',
  'dpop',
  'id_token_hint',
])
const REDACTED = '[redacted]'
const MAX_DEPTH = 6
/** A compact JWS/JWE: three or five base64url segments. Credentials travel as such. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*(\.[\w-]+\.[\w-]+)?$/

/** Whether a parameter, header or field of this name holds a credential. */
export function isSecretName(name: string): boolean {
  return SECRET_NAMES.has(name.toLowerCase())
}

/**
 * `text` with every occurrence of each of `secrets` replaced by `[redacted]`, as sent and in its
 * percent-encoded forms (a body that echoes a form request quotes them so).
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let clean = text
  for (const secret of secrets) {
    for (const form of new Set([
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
    ])) {
      if (form !== '') clean = clean.replaceAll(form, REDACTED)
    }
  }
  return clean
}

/**
 * A copy of `cause` with every credential taken out: token-response bodies (oauth4webapi keeps the
 * whole body on some errors), `code`/`state`-bearing URLs and parameters, `Authorization` headers,
 * `Response` objects (reduced to their status), and every occurrence of `secrets` — the
 * credentials a request carried, which a provider may echo in any string (see {@link scrubSecrets}).
 * Every field of the copy is plain data that can be read, logged and serialized (see {@link redactError}).
 */
export function redactCause(cause: unknown, secrets: readonly string[] = []): unknown {
  return redact(cause, secrets, 0)
}

function redact(cause: unknown, secrets: readonly string[], depth: number): unknown {
  if (typeof cause === 'string') return JWT_SHAPE.test(cause) ? REDACTED : scrubSecrets(cause, secrets)
  if (typeof cause !== 'object' || cause === null) return cause
  if (depth >= MAX_DEPTH) return undefined
  if (typeof Response === 'function' && cause instanceof Response) {
    return { status: cause.status, statusText: cause.statusText }
  }
  if (cause instanceof URLSearchParams) return redactEntries(cause.entries(), secrets, depth)
  if (typeof Headers === 'function' && cause instanceof Headers) return redactEntries(cause.entries(), secrets, depth)
  if (cause instanceof URL) return scrubSecrets(redactUrl(cause), secrets)
  if (cause instanceof Error) return redactError(cause, secrets, depth)
  if (Array.isArray(cause)) return cause.map((item) => redact(item, secrets, depth + 1))
  if (ArrayBuffer.isView(cause) || cause instanceof ArrayBuffer) return REDACTED
  return redactEntries(Object.entries(cause), secrets, depth)
}

function redactEntries(
  entries: Iterable<[string, unknown]>,
  secrets: readonly string[],
  depth: number,
): Record<string, unknown> {
  const copy: Record<string, unknown> = {}
  for (const [name, value] of entries) {
    copy[scrubSecrets(name, secrets)] = isSecretName(name) ? REDACTED : redact(value, secrets, depth + 1)
  }
  return copy
}

function redactUrl(url: URL): string {
  const copy = new URL(url.href)
  for (const name of [...copy.searchParams.keys()]) {
    if (isSecretName(name)) copy.searchParams.set(name, REDACTED)
  }
  copy.hash = ''
  return copy.href
}

/** Fields an error shows a person: never credentials, even under a credential's name (`code`). */
const ERROR_TEXT = new Set(['name', 'message', 'stack', 'code'])

/**
 * A copy of `error` whose every field is data. The copy keeps the error's class (its prototype,
 * so `instanceof` works) unless that class reads its fields through getters: a `DOMException`'s
 * `name`, `message` and `code` are getters that throw on any object but the original ("Illegal
 * invocation"), as do getters over `#private` fields. Such an error is copied onto
 * `Error.prototype` instead, its getters read into data, and its class name kept as `className`.
 */
function redactError(error: Error, secrets: readonly string[], depth: number): Error {
  const keepsClass = !hasGetters(error)
  const copy = Object.create(keepsClass ? (Object.getPrototypeOf(error) as object) : Error.prototype) as Error
  const define = (name: string, value: unknown, enumerable: boolean) => {
    const clean = ERROR_TEXT.has(name)
      ? typeof value === 'string'
        ? scrubSecrets(value, secrets)
        : value
      : isSecretName(name)
        ? REDACTED
        : redact(value, secrets, depth + 1)
    Object.defineProperty(copy, name, { value: clean, enumerable, writable: true, configurable: true })
  }
  for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(error))) {
    define(name, 'value' in descriptor ? descriptor.value : read(error, name), descriptor.enumerable === true)
  }
  if (!keepsClass) {
    for (const name of gettersOf(error)) if (!Object.hasOwn(copy, name)) define(name, read(error, name), false)
    define('name', read(error, 'name'), false)
    define('message', read(error, 'message'), false)
    const constructor = read(Object.getPrototypeOf(error) as object, 'constructor') as { name?: unknown } | undefined
    define('className', constructor?.name, true)
  }
  // Some engines (SpiderMonkey) serve `stack` from a getter on Error.prototype: the copy holds its own.
  if (!Object.hasOwn(copy, 'stack')) define('stack', read(error, 'stack'), false)
  return copy
}

/** Whether a class between `error` and `Error.prototype` defines a getter (or setter). */
function hasGetters(error: Error): boolean {
  for (let proto = Object.getPrototypeOf(error) as object | null; proto && proto !== Error.prototype;) {
    if (Object.values(Object.getOwnPropertyDescriptors(proto)).some((field) => field.get || field.set)) return true
    proto = Object.getPrototypeOf(proto) as object | null
  }
  return false
}

/** The names of the getters `error` inherits, up to `Object.prototype`. */
function gettersOf(error: Error): string[] {
  const names: string[] = []
  for (let proto = Object.getPrototypeOf(error) as object | null; proto && proto !== Object.prototype;) {
    for (const [name, field] of Object.entries(Object.getOwnPropertyDescriptors(proto))) if (field.get) names.push(name)
    proto = Object.getPrototypeOf(proto) as object | null
  }
  return names
}

/** `object[name]`, or `undefined` when its getter throws. */
function read(object: object, name: string): unknown {
  try {
    return Reflect.get(object, name)
  } catch {
    return undefined
  }
}

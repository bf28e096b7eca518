import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import * as oauth from 'oauth4webapi'
import { AuthError, errorData, isAuthError, notSignedIn, reviveAuthError } from '../../src/platform/errors.js'

const ACCESS = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'
const REFRESH = 'refresh-6f1c2e9a'

/** Everything reachable from `value`: own properties (messages and stacks too), causes, entries. */
function serialize(value: unknown, seen = new Set<unknown>()): string {
  if (typeof value !== 'object' || value === null) return String(value)
  if (seen.has(value)) return ''
  seen.add(value)
  const parts = Object.getOwnPropertyNames(value).map((name) => {
    const descriptor = Object.getOwnPropertyDescriptor(value, name)!
    return `${name}=${serialize(descriptor.get ? undefined : descriptor.value, seen)}`
  })
  if (value instanceof URLSearchParams || value instanceof Headers) parts.push(...[...value].map(String))
  return parts.join(' ')
}

/** The engine's own DOMException (brand-checked getters), whatever DOM the test runs in. */
function cloneFailure(): DOMException {
  try {
    structuredClone(() => {})
  } catch (error) {
    return error as DOMException
  }
  throw new Error('structuredClone cloned a function')
}

describe('AuthError', () => {
  it('carries a name, a stable code, a message for a person and the underlying cause', () => {
    const cause = new TypeError('Failed to fetch')
    const error = new AuthError('network_error', 'The provider could not be reached; check the connection.', { cause })

    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('AuthError')
    expect(error.code).toBe('network_error')
    expect(error.message).toBe('The provider could not be reached; check the connection.')
    expect(error.cause).toBeInstanceOf(TypeError)
    expect((error.cause as Error).message).toBe('Failed to fetch')
  })

  it('has no cause when none is given', () => {
    expect(new AuthError('disposed', 'The client was disposed.').cause).toBeUndefined()
  })
})

describe("an AuthError's cause", () => {
  it('keeps no token of a token response body oauth4webapi put in its error', () => {
    const body = { access_token: ACCESS, refresh_token: REFRESH, id_token: ACCESS, token_type: 'Bearer' }
    const cause = new oauth.OperationProcessingError('"response" body "token_type" property must be a string', {
      cause: { body },
      code: oauth.INVALID_RESPONSE,
    })
    const error = new AuthError('invalid_response', 'The provider answered without token_type.', { cause })

    const text = serialize(error)
    expect(text).not.toContain(ACCESS)
    expect(text).not.toContain(REFRESH)
    // What helps a person stays: the class, the code, the message and the harmless fields.
    expect(error.cause).toBeInstanceOf(oauth.OperationProcessingError)
    expect((error.cause as oauth.OperationProcessingError).code).toBe(oauth.INVALID_RESPONSE)
    expect(text).toContain('token_type')
    expect(text).toContain('Bearer')
  })

  it("keeps the provider's error and description, and no code, from parameters, URLs, headers and responses", () => {
    const params = new URLSearchParams({ code: 'one-time-code-42', state: 's', error: 'access_denied' })
    const cause = {
      params,
      url: new URL('https://app.example/callback?code=one-time-code-42&state=s'),
      headers: new Headers({ authorization: `Bearer ${ACCESS}`, 'content-type': 'application/json' }),
      response: new Response('{"refresh_token":"x"}', { status: 400 }),
      nested: [{ refresh_token: REFRESH, error_description: 'The user declined.' }],
    }
    const error = new AuthError('authorization_error', 'The provider did not authorize the sign-in.', { cause })

    const text = serialize(error)
    for (const secret of ['one-time-code-42', ACCESS, REFRESH, '"refresh_token":"x"'])
      expect(text).not.toContain(secret)
    expect(text).toContain('access_denied')
    expect(text).toContain('The user declined.')
    expect(text).toContain('status=400')
  })

  it('is readable whole when its class has brand-checked getters (a DataCloneError): name, message, code and class kept as data', () => {
    const cause = cloneFailure()
    const error = new AuthError('storage_error', 'The session could not be stored.', { cause })

    const copy = error.cause as Error & { code?: unknown; className?: unknown }
    expect(copy).toBeInstanceOf(Error)
    expect(copy.name).toBe('DataCloneError')
    expect(copy.message).toBe(cause.message)
    expect(copy.code).toBe(cause.code)
    expect(copy.className).toBe('DOMException')
    expect(String(copy)).toBe(`DataCloneError: ${cause.message}`)
  })

  it("reads an error's getters into plain data, redacted like any field", () => {
    class DetailedError extends Error {
      readonly #detail = `refresh_token=${REFRESH} was refused`
      get detail() {
        return this.#detail
      }
    }
    const cause = new DetailedError('refused')
    Object.defineProperty(cause, 'refresh_token', { get: () => REFRESH, enumerable: true })
    const error = new AuthError('grant_rejected', 'The provider refused the grant.', { cause })

    const copy = error.cause as Record<string, unknown>
    for (const name of ['detail', 'refresh_token', 'message', 'name']) {
      expect(Object.getOwnPropertyDescriptor(copy, name)?.get, name).toBeUndefined()
    }
    expect(copy['message']).toBe('refused')
    expect(copy['detail']).toBe(`refresh_token=${REFRESH} was refused`)
    expect(copy['refresh_token']).toBe('[redacted]')
  })

  it('leaves the original error untouched', () => {
    const body = { access_token: ACCESS }
    const cause = new oauth.OperationProcessingError('bad', { cause: { body } })
    void new AuthError('invalid_response', 'Bad answer.', { cause })
    expect((cause.cause as { body: typeof body }).body.access_token).toBe(ACCESS)
  })
})

describe('isAuthError', () => {
  it('recognises an AuthError', () => {
    expect(isAuthError(new AuthError('timeout', 'The provider did not answer in time.'))).toBe(true)
  })

  it.each([
    ['a plain Error', new Error('boom')],
    ['null', null],
    ['undefined', undefined],
    ['a string', 'invalid_config'],
    ['an object with a code', { name: 'AuthError', code: 'invalid_config', message: 'forged' }],
  ])('does not recognise %s', (_, value) => {
    expect(isAuthError(value)).toBe(false)
  })

  it('recognises an AuthError from another realm, where instanceof fails', () => {
    const foreign = Object.create(null) as Record<string | symbol, unknown>
    foreign[Symbol.for('spa-auth.AuthError')] = true
    foreign['code'] = 'state_mismatch'
    foreign['message'] = 'The callback state matches no pending sign-in.'

    expect(foreign instanceof AuthError).toBe(false)
    expect(isAuthError(foreign)).toBe(true)
    expect(isAuthError(foreign, 'state_mismatch')).toBe(true)
    expect(isAuthError(foreign, 'timeout')).toBe(false)
  })

  it('with a code, recognises only errors of that code', () => {
    const error = new AuthError('grant_rejected', 'The refresh token was revoked; sign in again.')

    expect(isAuthError(error, 'grant_rejected')).toBe(true)
    expect(isAuthError(error, 'network_error')).toBe(false)
  })

  it('with a code, narrows to an AuthError of that code, whose data can be read', () => {
    const caught: unknown = new AuthError('rate_limited', 'Asked again too soon.', { status: 429, retryAfterMs: 5000 })

    if (!isAuthError(caught, 'rate_limited')) throw new Error('not recognised')
    const code: 'rate_limited' = caught.code

    expect(code).toBe('rate_limited')
    expect(caught.status).toBe(429)
    expect(caught.retryAfterMs).toBe(5000)
    expect(caught.oauthError).toBeUndefined()
    expect(Object.keys(caught).sort()).toEqual(['code', 'name', 'retryAfterMs', 'status'])
  })

  it('narrows an unknown value to AuthError so its code can be read', () => {
    const caught: unknown = new AuthError('not_signed_in', 'Sign in first.')

    const code = isAuthError(caught) ? caught.code : undefined

    expect(code).toBe('not_signed_in')
  })
})

describe('an AuthError as data', () => {
  it('crosses a channel (structured clone) with its code, message and data fields, and without its cause', () => {
    const error = new AuthError('rate_limited', 'Asked again too soon.', {
      status: 429,
      retryAfterMs: 7000,
      cause: new Response('slow down', { status: 429 }),
    })

    const revived = reviveAuthError(structuredClone(errorData(error)))

    expect(isAuthError(revived, 'rate_limited')).toBe(true)
    expect(revived).toMatchObject({ message: 'Asked again too soon.', status: 429, retryAfterMs: 7000 })
    expect(revived.oauthError).toBeUndefined()
    expect(revived.cause).toBeUndefined()
  })
})

describe('the factories of repeated errors', () => {
  it('notSignedIn says what is missing and what to call', () => {
    expect(notSignedIn()).toMatchObject({ code: 'not_signed_in', message: 'Nobody is signed in; call signIn() first.' })
    expect(notSignedIn('Nobody is signed in with a refresh token').message).toBe(
      'Nobody is signed in with a refresh token; call signIn() first.',
    )
  })
})

describe("the README's Errors table", () => {
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

  /** The text from `start` to the first blank line, or to the next `## ` heading. */
  async function part(file: string, start: string, end: string): Promise<string> {
    const text = await readFile(join(repo, file), 'utf8')
    const from = text.indexOf(start)
    expect(from, `${start} in ${file}`).toBeGreaterThan(-1)
    return text.slice(from, text.indexOf(end, from + start.length))
  }

  it('has one row for every AuthErrorCode, and none for a code that does not exist', async () => {
    const union = await part('src/platform/errors.ts', 'export type AuthErrorCode', '\n\n')
    const codes = [...union.matchAll(/^\s*\| '(\w+)'$/gm)].map(([, code]) => code)
    const table = await part('README.md', '\n## Errors\n', '\n## ')
    const rows = [...table.matchAll(/^\| `(\w+)` \|/gm)].map(([, code]) => code)

    expect(codes).toContain('popup_timeout')
    expect([...rows].sort()).toEqual([...codes].sort())
  })
})

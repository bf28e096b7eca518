import { describe, expect, it } from 'vitest'
import { AuthError, isAuthError } from '../src/errors.js'

describe('AuthError', () => {
  it('carries a name, a stable code, a message for a person and the underlying cause', () => {
    const cause = new TypeError('Failed to fetch')
    const error = new AuthError('network_error', 'The provider could not be reached; check the connection.', { cause })

    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('AuthError')
    expect(error.code).toBe('network_error')
    expect(error.message).toBe('The provider could not be reached; check the connection.')
    expect(error.cause).toBe(cause)
  })

  it('has no cause when none is given', () => {
    expect(new AuthError('disposed', 'The client was disposed.').cause).toBeUndefined()
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

  it('narrows an unknown value to AuthError so its code can be read', () => {
    const caught: unknown = new AuthError('not_signed_in', 'Sign in first.')

    const code = isAuthError(caught) ? caught.code : undefined

    expect(code).toBe('not_signed_in')
  })
})

import * as oauth from 'oauth4webapi'
import { describe, expect, it } from 'vitest'
import { toAuthError } from '../../src/protocol/step-failure.js'
import { textOf } from '../support/error-collector.js'

describe('the conversion of a failed protocol step', () => {
  it("names a failure on this side unexpected (a TypeError from a bug), not the provider's invalid answer", () => {
    const error = toAuthError(new TypeError('tokens.map is not a function'), 'refreshing the session', {
      status: 200,
    })

    expect(error.code).toBe('unexpected')
    expect(error.message).toContain('while refreshing the session')
    expect(error.message).toContain('TypeError: tokens.map is not a function')
  })

  it('keeps invalid_response for an answer oauth4webapi refuses', () => {
    const refused = new oauth.OperationProcessingError('"response" content-type must be application/json', {
      code: oauth.RESPONSE_IS_NOT_JSON,
    })

    const error = toAuthError(refused, 'refreshing the session', { status: 200 })

    expect(error.code).toBe('invalid_response')
    expect(error.message).toContain('is not a valid OAuth response')
  })
})

describe('the credentials a step carried', () => {
  it('are taken out of the message, the data and the cause, as sent and percent-encoded', async () => {
    const code = 'sPl/it+code=='
    const verifier = 'verifier-0123456789'
    const echoed = new oauth.OperationProcessingError(`could not parse ${verifier}`, {
      cause: { body: `grant_type=authorization_code&code=${encodeURIComponent(code)}&code_verifier=${verifier}` },
    })

    const error = toAuthError(echoed, 'exchanging the sign-in code', {
      status: 200,
      credentials: new Set([code, verifier]),
    })

    const text = await textOf(error)
    for (const secret of [code, encodeURIComponent(code), verifier]) expect(text).not.toContain(secret)
    expect(text).toContain('grant_type=authorization_code')
    expect(error.code).toBe('invalid_response')
  })
})

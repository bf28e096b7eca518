import * as oauth from 'oauth4webapi'
import { describe, expect, it } from 'vitest'
import { toAuthError } from '../../src/protocol/transport.js'

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

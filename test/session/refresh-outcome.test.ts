import { describe, expect, it } from 'vitest'
import { retryDelayMs } from '../../src/session/refresh-outcome.js'

describe('retryDelayMs', () => {
  it('doubles the ceiling per attempt from 2 s and takes a random share of it (full jitter)', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((attempts) => retryDelayMs({ attempts, random: 0.5, slow: false }))
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000])
  })

  it('caps the ceiling at five minutes and never goes under one second', () => {
    expect(retryDelayMs({ attempts: 30, random: 0.999_999, slow: false })).toBeLessThanOrEqual(300_000)
    expect(retryDelayMs({ attempts: 30, random: 0.999_999, slow: false })).toBeGreaterThan(299_000)
    expect(retryDelayMs({ attempts: 1, random: 0, slow: false })).toBe(1_000)
  })

  it("waits at least the provider's Retry-After", () => {
    expect(retryDelayMs({ attempts: 1, random: 0.5, retryAfterMs: 120_000, slow: false })).toBe(120_000)
  })

  it('waits the longest when the token endpoint is unreachable from this origin', () => {
    expect(retryDelayMs({ attempts: 1, random: 0, slow: true })).toBe(300_000)
  })
})

/**
 * One set of typed arrays for the test's globals and for the platform's own APIs. Vitest's jsdom
 * environment puts jsdom's `Uint8Array` and `ArrayBuffer` on the globals, while WebCrypto,
 * `TextEncoder` and `structuredClone` keep returning Node's: every `instanceof` check of the
 * protocol code (oauth4webapi's included) then fails, as `TypeError: input.subarray is not a
 * function` (vitest-dev/vitest#5685). happy-dom, Node and real browsers have one set already.
 */
/** The line that fixes what the kit could not: a DOM environment that keeps the platform's typed arrays. */
const ONE_LINE_FIX = '// @vitest-environment happy-dom'

/**
 * Makes the global `Uint8Array` and `ArrayBuffer` those WebCrypto and `TextEncoder` return, where
 * they are not (Vitest's jsdom environment). Returns `undefined` when they agree, or were made to;
 * else what to tell the developer (the one-line fix), where the globals are read-only.
 */
export function alignTypedArrays(): string | undefined {
  const sample = new TextEncoder().encode('')
  if (sample instanceof Uint8Array && sample.buffer instanceof ArrayBuffer) return undefined
  const platform = {
    Uint8Array: sample.constructor as Uint8ArrayConstructor,
    ArrayBuffer: sample.buffer.constructor as ArrayBufferConstructor,
  }
  try {
    Object.assign(globalThis, platform)
  } catch {
    // A read-only global: the environment decided so, and overriding it is not the kit's call.
  }
  const aligned = new TextEncoder().encode('')
  if (aligned instanceof Uint8Array && aligned.buffer instanceof ArrayBuffer) return undefined
  return `spa-auth/testing cannot run here: this test environment's Uint8Array and ArrayBuffer are not those WebCrypto and TextEncoder return (Vitest's jsdom environment, vitest-dev/vitest#5685), and they are read-only. Put \`${ONE_LINE_FIX}\` at the top of the test file (or set test.environment: 'happy-dom').`
}

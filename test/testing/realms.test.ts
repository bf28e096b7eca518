// @vitest-environment jsdom
/**
 * `spa-auth/testing` under Vitest's jsdom environment with no setup file: jsdom's typed arrays on
 * the globals, Node's from WebCrypto and TextEncoder. The kit is imported here only after each
 * test has set the globals up, so its load is what is tested.
 */
import { afterEach, expect, it, vi } from 'vitest'
import { isAuthError } from '../../src/index.js'

/** jsdom's own, as Vitest's environment put them on the globals. */
const jsdomTypedArrays = { Uint8Array: globalThis.Uint8Array, ArrayBuffer: globalThis.ArrayBuffer }

async function loadKit() {
  vi.resetModules()
  return import('../../src/testing.js')
}

afterEach(() => {
  // Writable again, as Vitest's environment made them (its teardown removes them).
  for (const name of Object.keys(jsdomTypedArrays)) {
    const value: unknown = Reflect.get(globalThis, name)
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true })
  }
})

it('jsdom puts typed arrays on the globals that are not those TextEncoder returns', () => {
  expect(new TextEncoder().encode('') instanceof jsdomTypedArrays.Uint8Array).toBe(false)
})

it('signs in with no setup file: the kit makes the typed arrays agree when it loads', async () => {
  const { createTestProvider } = await loadKit()

  expect(new TextEncoder().encode('') instanceof Uint8Array).toBe(true)
  expect((await crypto.subtle.digest('SHA-256', new Uint8Array(1))) instanceof ArrayBuffer).toBe(true)
  const provider = createTestProvider()
  const { user } = await provider.signIn(provider.createClient(), { sub: 'alice' })
  expect(user.sub).toBe('alice')
  provider.dispose()
})

it('where the globals are read-only, createTestProvider() throws an AuthError naming the one-line fix', async () => {
  for (const [name, value] of Object.entries(jsdomTypedArrays)) {
    Object.defineProperty(globalThis, name, { value, writable: false, configurable: true })
  }
  const { createTestProvider } = await loadKit()

  let thrown: unknown
  try {
    createTestProvider()
  } catch (error) {
    thrown = error
  }
  expect(isAuthError(thrown, 'invalid_config'), String(thrown)).toBe(true)
  expect((thrown as Error).message).toContain('`// @vitest-environment happy-dom`')
})

import { describe, expect, it } from 'vitest'
import { isAuthError } from '../../src/index.js'
import { lazy } from '../../src/platform/lazy.js'

/** A load whose outcome the test decides. */
function controlled<T>() {
  const attempts: Array<{ resolve(value: T): void; reject(error: unknown): void }> = []
  const load = () => new Promise<T>((resolve, reject) => void attempts.push({ resolve, reject }))
  return { load, attempts }
}

describe('lazy: the one loader of the code chunks', () => {
  it('shares one load between concurrent callers', async () => {
    const { load, attempts } = controlled<string>()
    const code = lazy(load, 'the test code')
    const calls = [code.get(), code.get()]
    attempts[0]!.resolve('loaded')
    expect(await Promise.all(calls)).toEqual(['loaded', 'loaded'])
    expect(attempts).toHaveLength(1)
    expect(code.value).toBe('loaded')
  })

  it('forgets a failed load: the next call loads again', async () => {
    const { load, attempts } = controlled<string>()
    const code = lazy(load, 'the test code')
    const first = code.get()
    attempts[0]!.reject(new TypeError('Failed to fetch dynamically imported module'))
    const error: unknown = await first.catch((caught: unknown) => caught)
    expect(isAuthError(error, 'chunk_load_failed')).toBe(true)

    const second = code.get()
    attempts[1]!.resolve('loaded')
    expect(await second).toBe('loaded')
  })

  it('tries once more for a caller that joined a load which then failed: it may have started while offline', async () => {
    const { load, attempts } = controlled<string>()
    const code = lazy(load, 'the test code')
    // An idle-time load starts while the network is down…
    const idle = code.get().catch((caught: unknown) => caught)
    // …the network comes back, and the app asks: it joins the load already on its way.
    const asked = code.get()
    attempts[0]!.reject(new TypeError('Failed to fetch dynamically imported module'))
    expect(isAuthError(await idle, 'chunk_load_failed')).toBe(true)
    await flush()
    attempts[1]!.resolve('loaded')
    expect(await asked).toBe('loaded')
    expect(attempts).toHaveLength(2)
  })

  it('fails a joined caller whose own attempt fails too', async () => {
    const { load, attempts } = controlled<string>()
    const code = lazy(load, 'the test code')
    void code.get().catch(() => {})
    const asked = code.get().catch((caught: unknown) => caught)
    attempts[0]!.reject(new TypeError('offline'))
    await flush()
    attempts[1]!.reject(new TypeError('still offline'))
    expect(isAuthError(await asked, 'chunk_load_failed')).toBe(true)
    expect(attempts).toHaveLength(2)
  })
})

/** Lets the promise callbacks queued so far run. */
async function flush(): Promise<void> {
  for (let turn = 0; turn < 5; turn++) await Promise.resolve()
}

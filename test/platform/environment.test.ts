import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createAuthClient } from '../../src/index.js'
import { createBrowserEnvironment } from '../../src/platform/environment.js'
import { nodeFetch } from '../support/node-fetch.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'

describe('the browser environment', () => {
  it.each([
    ['the page becomes visible', () => document.dispatchEvent(new Event('visibilitychange'))],
    ['the browser comes back online', () => window.dispatchEvent(new Event('online'))],
    ['the window gets focus', () => window.dispatchEvent(new Event('focus'))],
    ['the page is restored from the back/forward cache', () => window.dispatchEvent(new Event('pageshow'))],
  ])('calls the wake listener when %s, and not after cleanup', (_, wake) => {
    const listener = vi.fn()
    const stop = createBrowserEnvironment().onWake(listener)
    wake()
    expect(listener).toHaveBeenCalledTimes(1)
    stop()
    wake()
    expect(listener).toHaveBeenCalledTimes(1)
  })

  it('reads the timer globals at call time, so fake timers installed later apply', () => {
    const env = createBrowserEnvironment()
    vi.useFakeTimers()
    try {
      const callback = vi.fn()
      env.setTimeout(callback, 1000)
      vi.advanceTimersByTime(999)
      expect(callback).not.toHaveBeenCalled()
      vi.advanceTimersByTime(1)
      expect(callback).toHaveBeenCalledOnce()
      expect(env.now()).toBe(Date.now())
    } finally {
      vi.useRealTimers()
    }
  })

  describe('unloading()', () => {
    afterEach(() => {
      // Back from the back/forward cache: the page is not going anywhere.
      window.dispatchEvent(new Event('pageshow'))
      vi.useRealTimers()
    })

    it('is true from pagehide until the page is shown again', () => {
      const env = createBrowserEnvironment()
      expect(env.unloading()).toBe(false)
      window.dispatchEvent(new Event('pagehide'))
      expect(env.unloading()).toBe(true)
      window.dispatchEvent(new Event('pageshow'))
      expect(env.unloading()).toBe(false)
    })

    it('is true for 2 s after a beforeunload nothing cancelled: Firefox cuts requests off before pagehide', () => {
      vi.useFakeTimers({ toFake: ['performance'] })
      const env = createBrowserEnvironment()
      window.dispatchEvent(new Event('beforeunload', { cancelable: true }))
      expect(env.unloading()).toBe(true)
      vi.advanceTimersByTime(2_000)
      expect(env.unloading()).toBe(true)
      // The navigation did not happen (a download, a 204): later failures are real ones.
      vi.advanceTimersByTime(1)
      expect(env.unloading()).toBe(false)
    })

    it('is false after a beforeunload the page cancelled to ask whether to leave', () => {
      const env = createBrowserEnvironment()
      const asking = new Event('beforeunload', { cancelable: true })
      window.addEventListener('beforeunload', (event) => event.preventDefault(), { once: true })
      window.dispatchEvent(asking)
      expect(asking.defaultPrevented).toBe(true)
      expect(env.unloading()).toBe(false)
    })
  })

  it('opens a BroadcastChannel that delivers to another channel of the same name', async () => {
    const env = createBrowserEnvironment()
    const sender = env.openChannel('spa-auth:test')!
    const receiver = env.openChannel('spa-auth:test')!
    const received = new Promise((resolve) => receiver.onMessage(resolve))
    sender.postMessage({ type: 'session-updated' })
    expect(await received).toEqual({ type: 'session-updated' })
    sender.close()
    receiver.close()
  })
})

describe('a client with its default store', () => {
  let provider: TestProvider
  const config = () => ({
    issuer: provider.issuer,
    clientId: provider.clientId,
    redirectUri: `${location.origin}/callback`,
  })

  beforeAll(async () => {
    provider = await startTestProvider({ redirectUris: [`${location.origin}/callback`] })
  })
  afterAll(() => provider.close())
  afterEach(() => vi.unstubAllGlobals())

  it('keeps its session in IndexedDB when the browser allows it', async () => {
    vi.stubGlobal('indexedDB', new IDBFactory())
    const auth = createAuthClient(config(), { environment: { fetch: nodeFetch } })
    await auth.ready()
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', storage: 'indexeddb' })
    auth.dispose()
  })

  it('falls back to memory when IndexedDB is blocked, says so, and still starts a sign-in', async () => {
    vi.stubGlobal('indexedDB', {
      open() {
        throw new DOMException('The operation is insecure.', 'SecurityError')
      },
    })
    const auth = createAuthClient(config(), { environment: { fetch: nodeFetch } })
    await auth.ready()
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', storage: 'memory', error: null })
    const url = new URL(await auth.createSignInUrl({ returnTo: '/' }))
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
    auth.dispose()
  })
})

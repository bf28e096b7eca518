// @vitest-environment node
/**
 * `signInWithPopup()` in process, for what a real browser cannot show on cue: what dispose() does
 * to a popup sign-in in progress. The popup is the environment's (`openPopup`); everything else
 * goes through the public API against the real provider. Chromium covers the popup itself.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { isAuthError } from '../../src/index.js'
import { flushEventLoop } from '../support/fake-clock.js'
import { hostHooks } from '../support/host-hooks.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { APP, createWorld, disposeOpenTabs, openTab, rejection } from '../support/world.js'

afterEach(disposeOpenTabs)

let strict: TestProvider

beforeAll(async () => {
  strict = await startTestProvider({ profile: 'strict', redirectUris: [`${APP}/callback`] })
})
afterAll(() => strict?.close())

/** A popup as the opener sees it: where it was sent, and whether it was closed. */
function fakePopup() {
  const popup = {
    closed: false,
    url: undefined as string | undefined,
    navigate(url: string) {
      popup.url = url
    },
    close() {
      popup.closed = true
    },
  }
  return popup
}

describe('signInWithPopup() and dispose()', () => {
  it('settles the call with disposed, closes the popup and leaves no timer armed', async () => {
    const world = createWorld()
    const popup = fakePopup()
    const { auth } = openTab(strict, world, hostHooks({ openPopup: () => popup, onFocusChange: () => () => {} }))
    await auth.ready()
    const signingIn = rejection(auth.signInWithPopup())
    // Bounded for a broken library only: a working one gets there in milliseconds.
    for (const giveUpAt = Date.now() + 5_000; popup.url === undefined && Date.now() < giveUpAt;) await flushEventLoop()
    expect(popup.url, 'the popup was sent to the provider').toMatch(/^http:\/\/127\.0\.0\.1:\d+\//)

    auth.dispose()

    expect(isAuthError(await signingIn, 'disposed')).toBe(true)
    expect(popup.closed).toBe(true)
    expect(world.clock.pending()).toBe(0)
  })
})

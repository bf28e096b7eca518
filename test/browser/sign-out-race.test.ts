/**
 * A sign-out racing a refresh in a real browser (issue #9): two tabs of the test app share
 * IndexedDB, Web Locks and BroadcastChannel; the provider (refresh-token rotation with reuse
 * detection) has processed tab A's refresh and holds its answer while tab B signs out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { startTestApp, type TestApp } from './support/app-server.js'
import { engine, launchEngine, skipBrowserSuites, type Engine } from './support/engine.js'
import { configureApp, openTab, signInFrom, snapshotOf } from './support/tabs.js'

describe.skipIf(skipBrowserSuites)(`a sign-out during a refresh in ${engine.title}`, () => {
  let app: TestApp
  let browser: Engine
  let provider: TestProvider

  beforeAll(async () => {
    app = await startTestApp()
    ;[browser, provider] = await Promise.all([
      launchEngine(),
      startTestProvider({
        profile: 'strict',
        accessTokenTtlSeconds: 3600,
        redirectUris: [`${app.origin}/callback`],
        postLogoutRedirectUris: [`${app.origin}/`],
      }),
    ])
  })

  afterAll(async () => {
    await browser?.close()
    await provider?.close()
    await app?.close()
  })

  it("leaves both tabs and a reloaded tab signed out when tab B signs out while tab A's refresh is answered", async () => {
    const context = await browser.newProfile()
    await configureApp(context, app.origin, provider.issuer, provider.clientId)
    const a = await openTab(context, `${app.origin}/`)
    await signInFrom(a, app.origin)
    const b = await openTab(context, `${app.origin}/`)
    expect(await snapshotOf(b)).toMatchObject({ status: 'signed-in', sub: 'alice' })

    const hold = provider.holdNext({ grantType: 'refresh_token' })
    const refreshing = a.evaluate(() =>
      window.auth.refresh().then(
        () => 'refreshed',
        (error: unknown) => String(error),
      ),
    )
    await hold.reached
    const signingOut = b.evaluate(() =>
      window.auth.signOut({ redirect: false }).then(
        () => 'signed out',
        (error: unknown) => String(error),
      ),
    )
    await expect.poll(async () => (await snapshotOf(b)).status, { timeout: 5_000 }).toBe('signed-out')

    hold.release()
    await Promise.all([refreshing, signingOut])
    await expect
      .poll(async () => [(await snapshotOf(a)).status, (await snapshotOf(b)).status], { timeout: 5_000 })
      .toEqual(['signed-out', 'signed-out'])
    const reloaded = await openTab(context, `${app.origin}/`)
    expect(await snapshotOf(reloaded)).toMatchObject({ status: 'signed-out' })
    for (const tab of [a, b]) expect(await snapshotOf(tab)).toMatchObject({ status: 'signed-out' })
    await context.close()
  })
})

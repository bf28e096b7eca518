/**
 * DPoP in a real browser (Chromium, Firefox): the key pair lives in the page's IndexedDB as a
 * non-extractable CryptoKey, survives a reload as the same key, and binds the tokens the provider
 * issues.
 */
import { calculateJwkThumbprint, type JWK } from 'jose'
import type * as oauth from 'oauth4webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { startTestApp, type TestApp } from './support/app-server.js'
import { engine, launchEngine, skipBrowserSuites, type Engine, type Profile, type Tab } from './support/engine.js'
import { configureApp, openTab, signInFrom, snapshotOf } from './support/tabs.js'

describe.skipIf(skipBrowserSuites)(`DPoP in ${engine.title}`, () => {
  let app: TestApp
  let provider: TestProvider
  let browser: Engine
  let context: Profile
  let page: Tab
  let as: oauth.AuthorizationServer

  beforeAll(async () => {
    app = await startTestApp()
    provider = await startTestProvider({
      profile: 'strict',
      dpop: 'required',
      redirectUris: [`${app.origin}/callback`],
    })
    as = (await (
      await fetch(`${provider.issuer}/.well-known/openid-configuration`)
    ).json()) as oauth.AuthorizationServer
    browser = await launchEngine()
    context = await browser.newProfile()
    await configureApp(context, app.origin, provider.issuer, provider.clientId, { dpop: true })
  })

  afterAll(async () => {
    await browser?.close()
    await provider?.close()
    await app?.close()
  })

  /** In the page: whether the stored private key can be exported, and the public key's thumbprint. */
  const inspectKey = () =>
    page.evaluate(
      (key) =>
        new Promise<{ exportable: boolean; extractable: boolean; publicJwk: JsonWebKey }>((resolve, reject) => {
          const opening = indexedDB.open('spa-auth')
          opening.onerror = () => reject(opening.error)
          opening.onsuccess = () => {
            const reading = opening.result.transaction('kv', 'readonly').objectStore('kv').get(key)
            reading.onsuccess = async () => {
              // The key pair is kept inside the session record.
              const pair = (reading.result as { dpopKey: CryptoKeyPair }).dpopKey
              const exportable = await crypto.subtle.exportKey('jwk', pair.privateKey).then(
                () => true,
                () => false,
              )
              resolve({
                exportable,
                extractable: pair.privateKey.extractable,
                publicJwk: await crypto.subtle.exportKey('jwk', pair.publicKey),
              })
            }
            reading.onerror = () => reject(reading.error)
          }
        }),
      `session:${provider.issuer}|${provider.clientId}`,
    )

  const thumbprint = (jwk: JsonWebKey) => calculateJwkThumbprint(jwk as JWK, 'sha256')

  it('keeps a non-extractable key that binds the tokens, the same one after a reload', async () => {
    page = await openTab(context, `${app.origin}/`)
    await signInFrom(page, app.origin)
    expect(await snapshotOf(page)).toMatchObject({ status: 'signed-in', sub: 'alice' })

    const before = await inspectKey()
    expect(before).toMatchObject({ exportable: false, extractable: false })
    const accessToken = await page.evaluate(() => window.auth.getAccessToken())
    expect(await provider.accessTokenBinding(accessToken)).toBe(await thumbprint(before.publicJwk))

    await page.reload()
    await page.evaluate(() => window.appReady)
    const after = await inspectKey()
    expect(await thumbprint(after.publicJwk)).toBe(await thumbprint(before.publicJwk))
    const status = await page.evaluate(async (url) => (await window.auth.fetch(url)).status, as.userinfo_endpoint!)
    expect(status).toBe(200)
    const refreshed = await page.evaluate(() => window.auth.getAccessToken({ forceRefresh: true }))
    expect(refreshed).not.toBe(accessToken)
    expect(await provider.accessTokenBinding(refreshed)).toBe(await thumbprint(before.publicJwk))

    await page.evaluate(() => window.auth.signOut({ redirect: false }))
    expect(await snapshotOf(page)).toMatchObject({ status: 'signed-out', reason: 'signed-out' })
  })
})

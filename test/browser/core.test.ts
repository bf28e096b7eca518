/**
 * The built package in a real browser (Chromium, Firefox) against a real OpenID Provider on another
 * origin: sign-in, warm start from IndexedDB, authenticated fetch, hostile callbacks and sign-out.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { CONFIG_KEYS } from './app/window.js'
import { startTestApp, type TestApp } from './support/app-server.js'
import { engine, launchEngine, skipBrowserSuites, type Engine, type Profile, type Tab } from './support/engine.js'

interface Discovery {
  issuer: string
  authorization_endpoint: string
  token_endpoint: string
  userinfo_endpoint: string
  revocation_endpoint: string
  end_session_endpoint: string
}

/** What the library keeps under `session:<issuer>|<clientId>` (only the fields read here). */
interface StoredSession {
  tokens: { refreshToken?: string; idToken?: string }
  claims: { sub: string }
}

describe.skipIf(skipBrowserSuites)(`the built library in ${engine.title}`, () => {
  let app: TestApp
  let provider: TestProvider
  let discovery: Discovery
  let browser: Engine
  let context: Profile
  let page: Tab
  let sessionKey: string
  /** authorization_code grants seen before the last `resetRequests()`. */
  let earlierCodeGrants = 0
  /** The real callback URL (code, state, iss) of the first sign-in. */
  let firstCallbackUrl: string
  const pageErrors: string[] = []

  beforeAll(async () => {
    app = await startTestApp()
    provider = await startTestProvider({
      profile: 'strict',
      redirectUris: [`${app.origin}/callback`],
      postLogoutRedirectUris: [`${app.origin}/`],
    })
    sessionKey = `session:${provider.issuer}|${provider.clientId}`
    const response = await fetch(`${provider.issuer}/.well-known/openid-configuration`)
    discovery = (await response.json()) as Discovery
    provider.resetRequests()

    browser = await launchEngine()
    context = await browser.newProfile()
    await context.addInitScript(
      ({ keys, issuer, clientId }) => {
        if (location.origin === keys.appOrigin) {
          localStorage.setItem(keys.issuer, issuer)
          localStorage.setItem(keys.clientId, clientId)
        }
      },
      { keys: { ...CONFIG_KEYS, appOrigin: app.origin }, issuer: provider.issuer, clientId: provider.clientId },
    )
    page = await context.newTab()
    context.onPageError((error) => pageErrors.push(error))
    context.onConsole((message) => {
      if (message.type === 'error' && !message.url.endsWith('/favicon.ico'))
        console.warn(`[${browser.name} console] ${message.text} (${message.url})`)
    })
  })

  afterEach(() => {
    const errors = pageErrors.splice(0)
    expect(errors, 'uncaught errors in the page').toEqual([])
  })

  afterAll(async () => {
    await browser?.close()
    await provider?.close()
    await app?.close()
  })

  // -------------------------------------------------------------------------------------------
  // helpers
  // -------------------------------------------------------------------------------------------

  const appUrl = (path: string) => new URL(path, app.origin).href
  const codeGrants = () => earlierCodeGrants + provider.countRequests({ grantType: 'authorization_code' })
  function resetProviderLog(): void {
    earlierCodeGrants = codeGrants()
    provider.resetRequests()
  }

  /** Opens `url` in the app and waits until it has loaded its session and handled any callback. */
  async function open(url: string): Promise<void> {
    await page.goto(url)
    await page.evaluate(() => window.appReady)
  }

  async function reload(): Promise<void> {
    await page.reload()
    await page.evaluate(() => window.appReady)
  }

  const snapshot = () =>
    page.evaluate(() => {
      const { status, user, reason, storage, error } = window.auth.getSnapshot()
      return {
        status,
        sub: user?.sub ?? null,
        reason,
        storage,
        error: error && { code: error.code, message: error.message },
      }
    })

  const lastError = () => page.evaluate(() => window.lastError)

  /** Runs `fn` in the page where it may leave the page (signIn/signOut navigate away). */
  async function evaluateLeaving(fn: (arg: string) => Promise<void>, arg = ''): Promise<void> {
    try {
      await page.evaluate(fn, arg)
    } catch (error) {
      // The navigation may tear the page down before the promise's result comes back.
      if (!/Execution context was destroyed|Target page, context or browser has been closed/.test(String(error)))
        throw error
    }
  }

  /**
   * Calls `auth.signIn({ returnTo })` in the page and waits until the browser has followed the
   * provider's redirects back to the app and the app has handled the callback. Returns the
   * callback URL the provider redirected to.
   */
  async function signIn(returnTo: string): Promise<string> {
    const [callback] = await Promise.all([
      page.nextDocumentRequest((url) => url.startsWith(appUrl('/callback?'))),
      page.nextLoad((url) => new URL(url).origin === app.origin),
      evaluateLeaving((returnTo) => window.auth.signIn({ returnTo }), returnTo),
    ])
    await page.evaluate(() => window.appReady)
    return callback
  }

  /** Reads one record of the library's IndexedDB database (`spa-auth`, object store `kv`). */
  function readIndexedDb<T>(key: string): Promise<T | undefined> {
    return page.evaluate(
      (key) =>
        new Promise<T | undefined>((resolve, reject) => {
          const opening = indexedDB.open('spa-auth')
          opening.onerror = () => reject(opening.error)
          opening.onsuccess = () => {
            const db = opening.result
            const reading = db.transaction('kv', 'readonly').objectStore('kv').get(key)
            reading.onerror = () => reject(reading.error)
            reading.onsuccess = () => {
              resolve(reading.result as T | undefined)
              db.close()
            }
          }
        }),
      key,
    )
  }

  // -------------------------------------------------------------------------------------------
  // tests
  // -------------------------------------------------------------------------------------------

  it('signs in through the provider and lands on returnTo with a clean address bar', async () => {
    await open(appUrl('/'))
    expect(await snapshot()).toMatchObject({ status: 'signed-out', storage: 'indexeddb' })

    resetProviderLog()
    firstCallbackUrl = await signIn('/orders?x=1')

    const callback = new URL(firstCallbackUrl)
    expect(callback.searchParams.get('code')).toBeTruthy()
    expect(callback.searchParams.get('iss')).toBe(provider.issuer)
    expect(await lastError()).toBeNull()
    expect(await snapshot()).toMatchObject({ status: 'signed-in', sub: 'alice', error: null })
    expect(
      JSON.parse((await page.evaluate(() => document.getElementById('state')?.textContent)) ?? '{}'),
    ).toMatchObject({
      status: 'signed-in',
      user: { sub: 'alice' },
    })

    const address = new URL(await page.evaluate(() => location.href))
    expect(address.pathname + address.search).toBe('/orders?x=1')
    for (const name of ['code', 'state', 'iss']) expect(address.searchParams.has(name)).toBe(false)

    expect(provider.countRequests({ grantType: 'authorization_code' })).toBe(1)
  })

  it('stays signed in across a reload without a single request to the provider', async () => {
    resetProviderLog()
    await reload()
    expect(await snapshot()).toMatchObject({ status: 'signed-in', sub: 'alice' })
    // Warm start: the session and the discovery document come from IndexedDB. A fresh token and
    // a new authorization URL (which needs the discovery document) need no network either.
    await page.evaluate(() => window.auth.getAccessToken())
    const signInUrl = await page.evaluate(() => window.auth.createSignInUrl({ returnTo: '/' }))
    expect(signInUrl.startsWith(`${discovery.authorization_endpoint}?`)).toBe(true)
    expect(provider.requests).toEqual([])
  })

  it('calls the userinfo endpoint with auth.fetch across origins', async () => {
    const result = await page.evaluate(async (url) => {
      const response = await window.auth.fetch(url)
      return { status: response.status, body: (await response.json()) as { sub?: string; name?: string } }
    }, discovery.userinfo_endpoint)
    expect(result.status).toBe(200)
    expect(result.body).toMatchObject({ sub: 'alice', name: 'Alice Example' })
  })

  it('refuses a tampered callback and keeps the session', async () => {
    const state = crypto.randomUUID()
    const tampered = new URL(appUrl('/callback'))
    tampered.search = new URLSearchParams({ code: 'x', state, iss: provider.issuer }).toString()
    resetProviderLog()
    await open(tampered.href)

    const error = await lastError()
    expect(['state_mismatch', 'transaction_not_found']).toContain(error?.code)
    expect(await snapshot()).toMatchObject({ status: 'signed-in', sub: 'alice' })
    expect(new URL(await page.evaluate(() => location.href)).search).toBe('')
    expect(provider.countRequests({ grantType: 'authorization_code' })).toBe(0)

    await reload()
    expect(await snapshot()).toMatchObject({ status: 'signed-in', sub: 'alice' })
  })

  it('refuses a replayed callback and keeps the session', async () => {
    expect(firstCallbackUrl).toBeDefined()
    await open(firstCallbackUrl)

    expect(await lastError()).toMatchObject({ code: 'callback_replayed' })
    expect(await snapshot()).toMatchObject({ status: 'signed-in', sub: 'alice' })
    expect(codeGrants()).toBe(1)

    await reload()
    expect(await snapshot()).toMatchObject({ status: 'signed-in', sub: 'alice' })
  })

  it('signs out: revokes the refresh token and wipes the stored session', async () => {
    const stored = await readIndexedDb<StoredSession>(sessionKey)
    const refreshToken = stored?.tokens.refreshToken
    expect(refreshToken, 'a refresh token in IndexedDB').toBeTruthy()

    resetProviderLog()
    await page.evaluate(() => window.auth.signOut({ redirect: false }))

    expect(await snapshot()).toMatchObject({ status: 'signed-out', reason: 'signed-out', error: null })
    expect(await readIndexedDb(sessionKey)).toBeUndefined()
    const revocationPath = new URL(discovery.revocation_endpoint).pathname
    expect(provider.requests.filter((r) => r.method === 'POST' && r.path === revocationPath)).toHaveLength(1)

    const response = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken!,
        client_id: provider.clientId,
      }),
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' })

    await reload()
    expect(await snapshot()).toMatchObject({ status: 'signed-out' })
  })

  it('signOut() ends the session at the provider with id_token_hint', async () => {
    await signIn('/')
    expect(await snapshot()).toMatchObject({ status: 'signed-in', sub: 'alice' })
    const idToken = (await readIndexedDb<StoredSession>(sessionKey))?.tokens.idToken
    expect(idToken, 'an ID token in IndexedDB').toBeTruthy()

    const [endSession] = await Promise.all([
      page.nextDocumentRequest((url) => url.startsWith(discovery.end_session_endpoint)),
      evaluateLeaving(() => window.auth.signOut()),
    ])
    const logoutUrl = new URL(endSession)

    expect(logoutUrl.searchParams.get('id_token_hint')).toBe(idToken)
    expect(logoutUrl.searchParams.get('client_id')).toBe(provider.clientId)
    expect(logoutUrl.searchParams.get('post_logout_redirect_uri')).toBe(appUrl('/'))

    // The provider asks for confirmation, then sends the browser back to the app, signed out.
    await page.waitForUrl((url) => url.startsWith(discovery.end_session_endpoint))
    const backHome = page.waitForUrl((url) => url === appUrl('/'))
    await page.click('button[name="logout"][value="yes"]')
    await backHome
    await page.evaluate(() => window.appReady)
    expect(await snapshot()).toMatchObject({ status: 'signed-out' })
    expect(await readIndexedDb(sessionKey)).toBeUndefined()
  })
})

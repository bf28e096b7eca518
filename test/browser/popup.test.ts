/**
 * `signInWithPopup()` in a real browser with its popup blocker on, against oidc-provider on another
 * origin: the test app's `#popup` button opens the popup in the click's task, the provider signs
 * the user in, the popup lands on the app's /callback, whose page completes the sign-in, reports
 * to the opener over BroadcastChannel and closes itself.
 *
 * Focus: headless Chromium reports every *window* as focused, whatever is in front (Playwright
 * also emulates focus on every page): there the opener keeps the focus while the popup is open, as
 * it does for a popup opened as a tab or on a second screen, and the library must wait for the
 * popup's answer. Headless Firefox has one focused window: a popup window takes the focus from its
 * opener, as on a desktop. Tabs of one window take the focus from each other in both engines:
 * where a test needs what a headed browser does when the user closes the popup — the opener loses
 * the focus, then gets it back (blur, then focus) — it turns Chromium's focus emulation off on the
 * opener and opens the sign-in as a tab (`popupFeatures: ''`, what mobile browsers do with every
 * popup).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import type { PopupOutcome } from './app/window.js'
import { startTestApp, type TestApp } from './support/app-server.js'
import {
  engine,
  engineName,
  launchEngine,
  skipBrowserSuites,
  type Engine,
  type Profile as BrowserProfile,
  type Tab,
} from './support/engine.js'
import { configureApp, openTab, snapshotOf } from './support/tabs.js'

/** A top-level document one tab received: where from, and its Cross-Origin-Opener-Policy. */
interface DocumentResponse {
  tabId: string | undefined
  url: string
  status: number
  coop: string | undefined
}

/** A fresh browser profile for one provider, with every document its pages received. */
interface Profile {
  context: BrowserProfile
  documents: DocumentResponse[]
}

/** The library's interval between two looks at the popup (src/sign-in/popup.ts). */
const CLOSED_CHECK_MS = 500
/** How soon a user who closed the popup must be told: a look at the popup, and one more to confirm. */
const CLOSE_NOTICED_WITHIN_MS = 3000
/** Only headless Chromium lets an opener keep the focus while its popup window is open. */
const itWhereTheOpenerKeepsTheFocus = engineName === 'chromium' ? it : it.skip

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(skipBrowserSuites)(`sign-in in a popup in ${engine.title}`, () => {
  let app: TestApp
  let browser: Engine
  /** Auto-approving interaction. */
  let provider: TestProvider
  /** Auto-approving, every page served with `Cross-Origin-Opener-Policy: same-origin`. */
  let isolatedProvider: TestProvider
  /** A login form that waits for the user (oidc-provider's devInteractions). */
  let waitingProvider: TestProvider
  /** The same login form, under `Cross-Origin-Opener-Policy: same-origin`. */
  let waitingIsolatedProvider: TestProvider
  const contexts: BrowserProfile[] = []
  const pageErrors: string[] = []

  beforeAll(async () => {
    app = await startTestApp()
    const client = { redirectUris: [`${app.origin}/callback`], postLogoutRedirectUris: [`${app.origin}/`] }
    ;[browser, provider, isolatedProvider, waitingProvider, waitingIsolatedProvider] = await Promise.all([
      launchEngine(undefined, { popupBlocker: true }),
      startTestProvider(client),
      startTestProvider({ ...client, coop: true }),
      startTestProvider({ ...client, interactions: 'dev' }),
      startTestProvider({ ...client, interactions: 'dev', coop: true }),
    ])
  })

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()))
    expect(pageErrors.splice(0), 'uncaught errors in the pages').toEqual([])
  })

  afterAll(async () => {
    await browser?.close()
    await Promise.all(
      [provider, isolatedProvider, waitingProvider, waitingIsolatedProvider].map((started) => started?.close()),
    )
    await app?.close()
  })

  // -------------------------------------------------------------------------------------------
  // helpers
  // -------------------------------------------------------------------------------------------

  /** A fresh profile (IndexedDB, Web Locks, BroadcastChannel) whose app uses `idp`. */
  async function newProfile(idp: TestProvider): Promise<Profile> {
    const context = await browser.newProfile()
    contexts.push(context)
    await configureApp(context, app.origin, idp.issuer, idp.clientId)
    const documents: DocumentResponse[] = []
    context.onPageError((error) => pageErrors.push(error))
    context.onResponse((response) => {
      if (!response.document) return
      documents.push({
        tabId: response.tabId,
        url: response.url,
        status: response.status,
        coop: response.header('cross-origin-opener-policy'),
      })
    })
    return { context, documents }
  }

  /** Clicks `#popup` (a trusted click: user activation) and returns the window it opened. */
  async function clickSignInWithPopup(profile: Profile, page: Tab): Promise<Tab> {
    const [popup] = await Promise.all([profile.context.nextTab(), page.click('#popup')])
    return popup
  }

  /** How the popup sign-in started in `page` ended, once it has. */
  async function popupOutcome(page: Tab): Promise<PopupOutcome> {
    return (await page.waitForFunction(() => window.popupOutcome, 15_000)) as PopupOutcome
  }

  /** Opens the sign-in as a tab of the opener's window rather than as a popup window. */
  async function signInInATab(page: Tab): Promise<void> {
    await page.evaluate(() => void (window.popupOptions = { popupFeatures: '' }))
  }

  /** Waits until `popup` shows the provider's login form, and returns that document. */
  async function loginFormOf(profile: Profile, popup: Tab, idp: TestProvider): Promise<DocumentResponse> {
    await popup.waitForUrl((url) => url.startsWith(`${idp.issuer}/interaction/`))
    await popup.waitForSelector('form input[name="login"]')
    const document = profile.documents.filter((seen) => seen.tabId === popup.id).at(-1)
    expect(document?.url).toBe(popup.url())
    return document!
  }

  const callbackPrefix = () => `${app.origin}/callback?`

  /** Signs in on the provider's login form in `popup` and consents, as a user would. */
  async function signInOnLoginPage(popup: Tab): Promise<void> {
    await popup.fill('input[name="login"]', 'alice')
    await popup.fill('input[name="password"]', 'any')
    await popup.click('form:has(input[name="login"]) button[type="submit"]')
    await popup.click('form:has(input[name="prompt"][value="consent"]) button[type="submit"]')
  }

  /** Closes `popup` as a user does, and brings the opener `tab` to the front: it gets the focus back. */
  async function closeAndReturn(popup: Tab, tab: Tab): Promise<number> {
    await popup.close()
    const closedAt = performance.now()
    await tab.bringToFront()
    return closedAt
  }

  // -------------------------------------------------------------------------------------------
  // tests
  // -------------------------------------------------------------------------------------------

  it('signs in through a popup that lands on /callback and closes itself', async () => {
    const profile = await newProfile(provider)
    const tab = await openTab(profile.context, `${app.origin}/`)
    expect(await snapshotOf(tab)).toMatchObject({ status: 'signed-out' })
    provider.resetRequests()

    const popup = await clickSignInWithPopup(profile, tab)
    const closed = popup.waitForClose(5_000)

    expect(await popupOutcome(tab)).toMatchObject({ user: { sub: 'alice', name: 'Alice Example' } })
    await closed
    expect(await snapshotOf(tab)).toMatchObject({ status: 'signed-in', sub: 'alice', error: null })
    expect(provider.countRequests({ grantType: 'authorization_code' })).toBe(1)
    // The popup went to the provider and came back to the app's redirect URI with a code; the
    // opener never left its page.
    const popupDocuments = profile.documents.filter((seen) => seen.tabId === popup.id)
    const landing = popupDocuments.find((seen) => seen.url.startsWith(callbackPrefix()))
    expect(new URL(landing!.url).searchParams.get('code')).toBeTruthy()
    expect(tab.url()).toBe(`${app.origin}/`)
    expect(profile.documents.filter((seen) => seen.tabId === tab.id)).toHaveLength(1)
  })

  it("signs in when the provider's pages send Cross-Origin-Opener-Policy: same-origin", async () => {
    const profile = await newProfile(isolatedProvider)
    const tab = await openTab(profile.context, `${app.origin}/`)
    await tab.useRealFocus()
    await signInInATab(tab)
    isolatedProvider.resetRequests()

    const popup = await clickSignInWithPopup(profile, tab)
    const closed = popup.waitForClose(5_000)

    expect(await popupOutcome(tab)).toMatchObject({ user: { sub: 'alice' } })
    await closed
    expect(await snapshotOf(tab)).toMatchObject({ status: 'signed-in', sub: 'alice', error: null })
    expect(isolatedProvider.countRequests({ grantType: 'authorization_code' })).toBe(1)
    // The popup really held documents of the provider's origin under COOP (which severs the
    // opener's handle on it) before it came back to the app.
    const popupDocuments = profile.documents.filter((seen) => seen.tabId === popup.id)
    const isolated = popupDocuments.filter(
      (seen) => seen.status === 200 && seen.url.startsWith(isolatedProvider.issuer) && seen.coop === 'same-origin',
    )
    expect(isolated.length).toBeGreaterThan(0)
    expect(popupDocuments.at(-1)?.url.startsWith(callbackPrefix())).toBe(true)
  })

  itWhereTheOpenerKeepsTheFocus(
    'under COOP, with the opener keeping the focus, completes 10 sign-ins of 10',
    async () => {
      const outcomes: string[] = []
      for (let run = 0; run < 10; run++) {
        const profile = await newProfile(isolatedProvider)
        const tab = await openTab(profile.context, `${app.origin}/`)
        const popup = await clickSignInWithPopup(profile, tab)
        const closed = popup.waitForClose(5_000)
        const outcome = await popupOutcome(tab)
        outcomes.push('user' in outcome ? outcome.user.sub : outcome.error.code)
        await closed
        expect(await tab.evaluate(() => document.hasFocus())).toBe(true)
        await profile.context.close()
      }

      expect(outcomes).toEqual(Array(10).fill('alice'))
    },
  )

  itWhereTheOpenerKeepsTheFocus(
    "under COOP, a user who signs in on the provider's login page while the app keeps the focus is signed in",
    async () => {
      const profile = await newProfile(waitingIsolatedProvider)
      const tab = await openTab(profile.context, `${app.origin}/`)
      const popup = await clickSignInWithPopup(profile, tab)
      expect((await loginFormOf(profile, popup, waitingIsolatedProvider)).coop).toBe('same-origin')
      // The opener's handle now reads closed, and the opener has the focus: still no answer.
      await wait(3 * CLOSED_CHECK_MS + 100)
      expect(await tab.evaluate(() => [document.hasFocus(), window.popupOutcome])).toEqual([true, null])

      const closed = popup.waitForClose(5_000)
      await signInOnLoginPage(popup)
      await closed

      expect(await popupOutcome(tab)).toMatchObject({ user: { sub: 'alice' } })
      expect(await snapshotOf(tab)).toMatchObject({ status: 'signed-in', sub: 'alice', error: null })
    },
  )

  it('a second tab of the app, open before the popup sign-in, is signed in too without reloading', async () => {
    const profile = await newProfile(provider)
    const other = await openTab(profile.context, `${app.origin}/`)
    const tab = await openTab(profile.context, `${app.origin}/`)
    expect(await snapshotOf(other)).toMatchObject({ status: 'signed-out' })
    provider.resetRequests()

    await clickSignInWithPopup(profile, tab)

    expect(await popupOutcome(tab)).toMatchObject({ user: { sub: 'alice' } })
    await expect
      .poll(() => snapshotOf(other), { timeout: 5_000 })
      .toMatchObject({ status: 'signed-in', sub: 'alice', error: null })
    expect(profile.documents.filter((seen) => seen.tabId === other.id)).toHaveLength(1)
    expect(provider.countRequests({ grantType: 'authorization_code' })).toBe(1)
    expect(provider.countRequests({ grantType: 'refresh_token' })).toBe(0)
  })

  it('rejects with popup_blocked when the browser blocks the popup of a call made without a click', async () => {
    const profile = await newProfile(provider)
    const tab = await profile.context.newTab()
    await tab.goto(`${app.origin}/`)
    provider.resetRequests()

    const { everActivated, outcome } = await tab.evaluateWithoutUserActivation(async () => {
      await window.appReady
      const everActivated = navigator.userActivation.hasBeenActive
      const outcome = await window.auth.signInWithPopup().then(
        ({ user }) => ({ user }),
        (error: { code: string; message: string }) => ({ error: { code: error.code, message: error.message } }),
      )
      return { everActivated, outcome }
    })

    expect(everActivated).toBe(false)
    expect(outcome).toMatchObject({ error: { code: 'popup_blocked' } })
    expect((await profile.context.tabs()).map((open) => open.id)).toEqual([tab.id])
    expect(provider.requests).toEqual([])
    expect(await snapshotOf(tab)).toMatchObject({ status: 'signed-out', error: null })
  })

  it("rejects with popup_closed within a few seconds when the user closes the popup on the provider's login page", async () => {
    const profile = await newProfile(waitingProvider)
    const tab = await openTab(profile.context, `${app.origin}/`)
    await tab.useRealFocus()
    await signInInATab(tab)
    const popup = await clickSignInWithPopup(profile, tab)
    await loginFormOf(profile, popup, waitingProvider)
    expect(await tab.evaluate(() => window.popupOutcome)).toBeNull()

    const closedAt = await closeAndReturn(popup, tab)

    expect(await popupOutcome(tab)).toMatchObject({ error: { code: 'popup_closed' } })
    expect(performance.now() - closedAt).toBeLessThan(CLOSE_NOTICED_WITHIN_MS)
    expect(await snapshotOf(tab)).toMatchObject({ status: 'signed-out', error: null })
    expect(waitingProvider.countRequests({ grantType: 'authorization_code' })).toBe(0)
  })

  it('under COOP, waits while the login page is in front, and rejects with popup_closed once the user closed it', async () => {
    const profile = await newProfile(waitingIsolatedProvider)
    const tab = await openTab(profile.context, `${app.origin}/`)
    await tab.useRealFocus()
    await signInInATab(tab)
    const popup = await clickSignInWithPopup(profile, tab)
    expect((await loginFormOf(profile, popup, waitingIsolatedProvider)).coop).toBe('same-origin')
    expect(await tab.evaluate(() => document.hasFocus())).toBe(false)

    // The opener's handle now reads closed; without the focus the library keeps waiting.
    await wait(3 * CLOSED_CHECK_MS + 100)
    expect(await tab.evaluate(() => window.popupOutcome)).toBeNull()

    const closedAt = await closeAndReturn(popup, tab)
    expect(await tab.evaluate(() => document.hasFocus())).toBe(true)

    expect(await popupOutcome(tab)).toMatchObject({ error: { code: 'popup_closed' } })
    expect(performance.now() - closedAt).toBeLessThan(CLOSE_NOTICED_WITHIN_MS)
    expect(await snapshotOf(tab)).toMatchObject({ status: 'signed-out', error: null })
  })

  it('under COOP, a user back on the app before signing in gets popup_closed, and a sign-in finished later still reaches the tab', async () => {
    const profile = await newProfile(waitingIsolatedProvider)
    const tab = await openTab(profile.context, `${app.origin}/`)
    await tab.useRealFocus()
    await signInInATab(tab)
    const popup = await clickSignInWithPopup(profile, tab)
    await loginFormOf(profile, popup, waitingIsolatedProvider)

    // Back to the app with the login page still open: under COOP the opener cannot tell this
    // from a closed popup.
    await tab.bringToFront()
    expect(await popupOutcome(tab)).toMatchObject({ error: { code: 'popup_closed' } })

    // The user signs in there after all: the callback page commits the session and every tab follows.
    await popup.bringToFront()
    const closed = popup.waitForClose(5_000)
    await signInOnLoginPage(popup)
    await closed
    await expect
      .poll(() => snapshotOf(tab), { timeout: 5_000 })
      .toMatchObject({ status: 'signed-in', sub: 'alice', error: null })
  })
})

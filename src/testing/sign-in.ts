/**
 * The browser's side of a sign-in: the tab goes to the authorization request, the user decides,
 * the provider redirects back, and the client handles the callback — the real code flow, with the
 * test choosing who signs in instead of a login page.
 */
import type { AuthClient, SignInOptions, SignInResult } from '../index.js'
import type { AuthorizeDecision } from './authorize.js'
import type { Browser, Tab } from './browser.js'
import type { TestUser } from './grants.js'
import type { TestServer } from './server.js'

/** What a completed sign-in resolves: `auth.handleRedirectCallback()`'s result, signed in. */
export type SignedInResult = Extract<SignInResult, { signedIn: true }>

/**
 * How long `completeSignIn` waits for the `signIn()` of a client the kit did not make to reach the
 * provider: this many quiet rounds, and at least this long on a slow machine (real time: a test's
 * fake clock does not move it).
 */
const SIGN_IN_WAIT_ROUNDS = 2_000
const SIGN_IN_WAIT_MS = 10_000

/** Creates the sign-in steps for the clients of `browser`; `tabs` knows the tab of each client the provider made. */
export function createSignInFlow(deps: {
  server: TestServer
  browser: Browser
  tabs: WeakMap<AuthClient, Tab>
  idle(): Promise<void>
}) {
  const { server, tabs } = deps
  const completed = new Set<string>()
  const pendingSignIn = createPendingSignIns(deps, completed)

  async function finish(client: AuthClient, authorizeUrl: string, decision: AuthorizeDecision): Promise<SignInResult> {
    completed.add(authorizeUrl)
    const callbackUrl = server.authorize(authorizeUrl, decision)
    const tab = tabs.get(client)
    if (tab) tab.url = callbackUrl
    const result = await client.handleRedirectCallback(callbackUrl)
    // What the app does next (the React and Vue adapters do it): go back to where the sign-in started.
    if (tab) tab.url = new URL(result.returnTo, tab.url).href
    return result
  }

  return {
    async signIn(client: AuthClient, user: TestUser, options?: SignInOptions): Promise<SignedInResult> {
      return signedIn(await finish(client, await client.createSignInUrl(options), { user }))
    },
    async completeSignIn(client: AuthClient, user: TestUser): Promise<SignedInResult> {
      return signedIn(await finish(client, await pendingSignIn(client), { user }))
    },
    async refuseSignIn(client: AuthClient, error = 'access_denied'): Promise<SignInResult> {
      return finish(client, await pendingSignIn(client), { error })
    },
  }
}

/**
 * Finds the sign-in a client has waiting at the provider: the newest authorization request its tab
 * navigated to that nobody completed (`completed`), waiting for a `signIn()` still on its way.
 */
function createPendingSignIns(
  deps: { server: TestServer; browser: Browser; tabs: WeakMap<AuthClient, Tab>; idle(): Promise<void> },
  completed: ReadonlySet<string>,
): (client: AuthClient) => Promise<string> {
  const { server, browser, tabs } = deps

  /**
   * The newest authorization request the tab of `client` (or, for a client made elsewhere, any tab)
   * navigated to and nobody completed. `signIn()` may still be on its way there (loading its code,
   * discovery, PKCE, the transaction write): then wait for its navigation.
   */
  function pendingSignIn(client: AuthClient): Promise<string> {
    const tab = tabs.get(client)
    return tab === undefined ? unfollowedSignIn() : followedSignIn(tab)
  }

  /** The newest authorization request `tab` (any tab when `undefined`) navigated to that nobody completed. */
  function waitingAt(tab: Tab | undefined): string | undefined {
    for (const { tab: from, url } of [...browser.navigations].reverse()) {
      const mine = tab === undefined || from === tab
      if (mine && url.startsWith(`${server.endpoints.authorization}?`) && !completed.has(url)) return url
    }
    return undefined
  }

  /**
   * For a client the kit made: its tab follows its `signIn()` calls, so the answer is exact. A call
   * in flight is waited for until it navigates or settles; with none, the clients settle once first
   * (a guarded page calls `signIn()` once its session is loaded), and if still none, nothing is coming.
   */
  async function followedSignIn(tab: Tab): Promise<string> {
    let settled = false
    for (;;) {
      const url = waitingAt(tab)
      if (url !== undefined) return url
      if (tab.signIns.size > 0) {
        await browser.nextNavigation(Promise.race(tab.signIns))
        settled = false
      } else if (!settled) {
        await deps.idle()
        settled = true
      } else throw noSignInWaiting()
    }
  }

  /**
   * For a client made elsewhere (from `provider.config` and `provider.clientOptions`, as an app that
   * creates its own client does): the kit sees none of its calls, only its tab's navigations. The
   * library loads its sign-in code on first use, which no lock or request shows, so quiet alone does
   * not prove that nothing is coming: the wait goes on for a while before it gives up.
   */
  async function unfollowedSignIn(): Promise<string> {
    const started = performance.now()
    for (let round = 0; round < SIGN_IN_WAIT_ROUNDS || performance.now() - started < SIGN_IN_WAIT_MS; round++) {
      const url = waitingAt(undefined)
      if (url !== undefined) return url
      await browser.nextNavigation(deps.idle())
    }
    throw noSignInWaiting()
  }

  return pendingSignIn
}

function noSignInWaiting(): Error {
  return new Error('No sign-in is waiting at the test provider: call auth.signIn() first (or use provider.signIn()).')
}

function signedIn(result: SignInResult): SignedInResult {
  if (!result.signedIn) throw new Error(`The sign-in ended without a session: ${result.reason}.`)
  return result
}

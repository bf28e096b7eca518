/**
 * Tabs of the test app in one browser profile (shared IndexedDB, Web Locks and BroadcastChannel),
 * with the provider's issuer and client id put in place before any script runs.
 */
import { CONFIG_KEYS } from '../app/window.js'
import type { Profile, Tab } from './engine.js'

/** Makes every page of `profile` on `appOrigin` use this provider (and send tokens to `apiOrigins` too). */
export async function configureApp(
  profile: Profile,
  appOrigin: string,
  issuer: string,
  clientId: string,
  options: { dpop?: boolean; refreshIn?: 'worker' | 'page'; apiOrigins?: string[]; requestTimeoutMs?: number } = {},
): Promise<void> {
  await profile.addInitScript(
    ({ keys, issuer, clientId, dpop, refreshIn, apiOrigins, requestTimeoutMs }) => {
      if (location.origin === keys.appOrigin) {
        localStorage.setItem(keys.issuer, issuer)
        localStorage.setItem(keys.clientId, clientId)
        localStorage.setItem(keys.dpop, String(dpop))
        localStorage.setItem(keys.refreshIn, refreshIn)
        localStorage.setItem(keys.apiOrigins, apiOrigins)
        localStorage.setItem(keys.requestTimeoutMs, requestTimeoutMs)
      }
    },
    {
      keys: { ...CONFIG_KEYS, appOrigin },
      issuer,
      clientId,
      dpop: options.dpop === true,
      refreshIn: options.refreshIn ?? 'worker',
      apiOrigins: (options.apiOrigins ?? []).join(' '),
      requestTimeoutMs: options.requestTimeoutMs === undefined ? '' : String(options.requestTimeoutMs),
    },
  )
}

/** Opens a new tab on `url` and waits until the app loaded its session and handled any callback. */
export async function openTab(profile: Profile, url: string): Promise<Tab> {
  const page = await profile.newTab()
  await page.goto(url)
  await page.evaluate(() => window.appReady)
  return page
}

/** Signs in from `page` through the provider's auto-approving interaction and waits for the app. */
export async function signInFrom(page: Tab, appOrigin: string): Promise<void> {
  await Promise.all([
    page.nextLoad((url) => new URL(url).origin === appOrigin),
    page.evaluate(() => void window.auth.signIn({ returnTo: '/' })),
  ])
  await page.evaluate(() => window.appReady)
}

/** The parts of the snapshot the tests compare. */
export function snapshotOf(page: Tab) {
  return page.evaluate(() => {
    const { status, user, reason, expiresAt, error } = window.auth.getSnapshot()
    return { status, sub: user?.sub ?? null, reason, expiresAt, error: error && error.code }
  })
}

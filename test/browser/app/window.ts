import type { AuthClient } from '../../../src/index.js'

/** localStorage keys the tests set before the app starts. */
export const CONFIG_KEYS = {
  issuer: 'spa-auth-test:issuer',
  clientId: 'spa-auth-test:client-id',
  dpop: 'spa-auth-test:dpop',
  refreshIn: 'spa-auth-test:refresh-in',
} as const

declare global {
  interface Window {
    /** The app's client, for the tests' `page.evaluate`. */
    auth: AuthClient
    /** Resolves once the stored session is loaded and a callback in the address bar was handled. */
    appReady: Promise<void>
    /** The failure of the last `handleRedirectCallback()`, or `null`. */
    lastError: { code: string; message: string } | null
  }
}

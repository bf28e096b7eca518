import type { AuthClient, PopupSignInOptions, UserClaims, isAuthError } from '../../../src/index.js'

/** localStorage keys the tests set before the app starts. */
export const CONFIG_KEYS = {
  issuer: 'spa-auth-test:issuer',
  clientId: 'spa-auth-test:client-id',
  dpop: 'spa-auth-test:dpop',
  refreshIn: 'spa-auth-test:refresh-in',
  /** More origins for `apiOrigins`, space-separated, beside the provider's. */
  apiOrigins: 'spa-auth-test:api-origins',
  requestTimeoutMs: 'spa-auth-test:request-timeout-ms',
} as const

/** An AuthError as the tests read it back from the page. */
export interface ErrorInfo {
  code: string
  message: string
}

/** How the last `signInWithPopup()` started by the `#popup` button ended. */
export type PopupOutcome = { user: UserClaims } | { error: ErrorInfo }

declare global {
  interface Window {
    /** The app's client, for the tests' `page.evaluate`. */
    auth: AuthClient
    /** The package's `isAuthError`, so the tests run the README's lines as they are written. */
    isAuthError: typeof isAuthError
    /** Resolves once the stored session is loaded and a callback in the address bar was handled. */
    appReady: Promise<void>
    /** The failure of the last `handleRedirectCallback()`, or `null`. */
    lastError: ErrorInfo | null
    /** What a click on `#popup` passes to `signInWithPopup()`; `undefined` for the defaults. */
    popupOptions: PopupSignInOptions | undefined
    /** The outcome of the last click on `#popup`: `null` until it settles. */
    popupOutcome: PopupOutcome | null
  }
}

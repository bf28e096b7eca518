import type { SignInOptions } from '../protocol/authorize.js'
import type { TabSync } from '../platform/tab-sync.js'
import type { HostEnvironment, PopupWindow } from '../platform/environment.js'
import { disposedError } from '../platform/calls.js'
import { AuthError, notSignedIn, reviveAuthError } from '../platform/errors.js'
import type { Session } from '../session/session.js'
import type { SignInFlow } from './flow.js'
import type { PopupOutcome, SessionMessage } from '../session/messages.js'
import type { UserClaims } from '../protocol/token-set.js'

/** Options of `signInWithPopup`: those of `signIn`, and the popup's own. */
export interface PopupSignInOptions extends SignInOptions {
  /** Give up (`popup_timeout`) after this many seconds. Default 300: long enough for a password manager and MFA. */
  timeoutSeconds?: number
  /** `window.open` features. Default: a 500 × 640 popup centred on the page. */
  popupFeatures?: string
}

/**
 * How often the opener looks whether the popup reads closed; a close it infers is confirmed one
 * look later, for an answer still on its way (the callback page reports, then closes itself).
 */
const CLOSED_CHECK_MS = 500

/** What a popup sign-in works with. */
export interface PopupDeps {
  env: HostEnvironment
  tabs: TabSync<SessionMessage>
  /** The redirect sign-in's code: the popup runs the same flow. */
  flow(): Promise<SignInFlow>
  session: Pick<Session, 'reload'>
  /** Aborted when the client is disposed: the popup closes, the timers stop, the call rejects with `disposed`. */
  signal?: AbortSignal | undefined
}

/**
 * Sign-in in a popup `popup` the caller opened (in the task of the user's click: a click's user
 * activation is needed, or the browser blocks it); it is sent to the authorization URL. It lands
 * on the redirect URI, a page of this app: that page completes the callback itself — same origin,
 * so the sign-in transaction in IndexedDB, the `state`, `nonce`, PKCE and `iss` checks are exactly
 * the redirect flow's — and reports over the tabs' BroadcastChannel. Nothing reads
 * `window.opener` or the popup's location, so a provider that sends
 * `Cross-Origin-Opener-Policy: same-origin` (which severs both) cannot break it.
 *
 * @throws AuthError `popup_closed`, `popup_timeout`, and every code of `handleRedirectCallback` as
 *   the popup reported it.
 */
export async function runPopupSignIn(
  deps: PopupDeps,
  popup: PopupWindow,
  options: PopupSignInOptions,
): Promise<{ user: UserClaims }> {
  const { timeoutSeconds = 300 } = options
  let state: string
  try {
    const started = await (await deps.flow()).start({ ...options, display: 'popup' })
    state = started.state
    popup.navigate(started.url)
  } catch (error) {
    popup.close()
    throw error
  }
  const outcome = await waitForOutcome(deps, popup, state, timeoutSeconds * 1000)
  if ('error' in outcome) throw reviveAuthError(outcome.error)
  if (!outcome.signedIn) {
    throw new AuthError('authorization_error', `The provider did not sign the user in ("${outcome.reason}").`)
  }
  // The popup committed the session and announced it; make sure this tab holds it before resolving.
  const record = await deps.session.reload()
  if (record === undefined) throw notSignedIn('The popup signed in, but the session is gone')
  return { user: record.claims }
}

/**
 * The popup's answer over the tabs' channel; or `popup_closed` once the user closed it; or
 * `popup_timeout`. Under Cross-Origin-Opener-Policy the handle reads closed as soon as the
 * provider's page loads, so "closed" alone proves nothing: the user closed it only when this page
 * got the focus back (a focus event, after the popup took it) while the handle reads closed. A
 * page that never lost the focus — headless Chromium, a popup opened as a tab or on a second
 * screen — waits for the answer; `hasFocus()` is no proof either way.
 */
function waitForOutcome(deps: PopupDeps, popup: PopupWindow, state: string, timeoutMs: number): Promise<PopupOutcome> {
  const { env } = deps
  return new Promise((resolve, reject) => {
    /** This page got the focus back since the popup opened, and has kept it. */
    let returned = false
    /** The one pending look at the popup (or confirmation of its close). */
    let look: unknown
    const finish = (settle: () => void) => {
      stopListening()
      stopWatchingFocus()
      deps.signal?.removeEventListener('abort', onAbort)
      env.clearTimeout(deadline)
      env.clearTimeout(look)
      settle()
    }
    const stopListening = deps.tabs.listen((message) => {
      if (message.type === 'popup-result' && message.state === state) finish(() => resolve(message.outcome))
    })
    const deadline = env.setTimeout(() => {
      popup.close()
      const error = new AuthError('popup_timeout', `The sign-in popup did not complete within ${timeoutMs / 1000} s.`)
      finish(() => reject(error))
    }, timeoutMs)
    // Disposing of the client ends the call: the popup closes and nothing is left armed.
    const onAbort = () => {
      popup.close()
      finish(() => reject(disposedError()))
    }
    const watch = () => {
      env.clearTimeout(look)
      look =
        popup.closed && returned
          ? env.setTimeout(() => finish(() => reject(popupClosed())), CLOSED_CHECK_MS)
          : env.setTimeout(watch, CLOSED_CHECK_MS)
    }
    // A focus event fires only for a page that had lost the focus: the blur may have come before
    // this listener, while the sign-in code loaded.
    const stopWatchingFocus = (env.onFocusChange ?? windowFocusChange)((focused) => {
      returned = focused
      watch()
    })
    if (deps.signal?.aborted) return onAbort()
    deps.signal?.addEventListener('abort', onAbort, { once: true })
    watch()
  })
}

function popupClosed(): AuthError {
  return new AuthError('popup_closed', 'The sign-in popup was closed before the sign-in completed.')
}

/** The window's `blur` and `focus` events, as `listener(false)` and `listener(true)`; returns a cleanup. */
function windowFocusChange(listener: (focused: boolean) => void): () => void {
  if (typeof window === 'undefined') return () => {}
  const lost = () => listener(false)
  const got = () => listener(true)
  window.addEventListener('blur', lost)
  window.addEventListener('focus', got)
  return () => {
    window.removeEventListener('blur', lost)
    window.removeEventListener('focus', got)
  }
}

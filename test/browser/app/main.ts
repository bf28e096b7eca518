/**
 * The smallest app that uses the published package: the browser tests drive it through
 * `window.auth` and `window.appReady`. The tests put the provider's issuer and client id into
 * localStorage (see CONFIG_KEYS) before the page's scripts run.
 */
import { createAuthClient, isAuthError } from 'spa-auth'
import { CONFIG_KEYS, type ErrorInfo } from './window.js'

const issuer = localStorage.getItem(CONFIG_KEYS.issuer)
const clientId = localStorage.getItem(CONFIG_KEYS.clientId)
if (!issuer || !clientId)
  throw new Error(`Set localStorage "${CONFIG_KEYS.issuer}" and "${CONFIG_KEYS.clientId}" first.`)

const auth = createAuthClient({
  issuer,
  clientId,
  redirectUri: `${location.origin}/callback`,
  postLogoutRedirectUri: `${location.origin}/`,
  dpop: localStorage.getItem(CONFIG_KEYS.dpop) === 'true',
  refreshIn: localStorage.getItem(CONFIG_KEYS.refreshIn) === 'page' ? 'page' : 'worker',
  ...(localStorage.getItem(CONFIG_KEYS.requestTimeoutMs)
    ? { requestTimeoutMs: Number(localStorage.getItem(CONFIG_KEYS.requestTimeoutMs)) }
    : {}),
  // The tests call the provider's userinfo endpoint as the app's API, and their own APIs.
  apiOrigins: [
    new URL(issuer).origin,
    ...(localStorage.getItem(CONFIG_KEYS.apiOrigins) ?? '').split(' ').filter(Boolean),
  ],
})
window.auth = auth
window.isAuthError = isAuthError
window.lastError = null
window.popupOptions = undefined
window.popupOutcome = null

function errorInfo(error: unknown): ErrorInfo {
  return isAuthError(error)
    ? { code: error.code, message: error.message }
    : { code: 'unexpected', message: String(error) }
}

// signInWithPopup() is called in the click's own task: the browser lets a popup open only there.
document.getElementById('popup')!.addEventListener('click', () => {
  window.popupOutcome = null
  auth.signInWithPopup(window.popupOptions).then(
    ({ user }) => void (window.popupOutcome = { user }),
    (error: unknown) => void (window.popupOutcome = { error: errorInfo(error) }),
  )
})

const view = document.getElementById('state')!
function render(): void {
  const { error, ...snapshot } = auth.getSnapshot()
  const shown = {
    ...snapshot,
    error: error && { code: error.code, message: error.message },
    lastError: window.lastError,
  }
  view.textContent = JSON.stringify(shown, null, 2)
}
auth.subscribe(render)
render()

window.appReady = (async () => {
  await auth.ready()
  if (auth.isRedirectCallback()) {
    try {
      const { returnTo } = await auth.handleRedirectCallback()
      history.replaceState(null, '', returnTo)
    } catch (error) {
      window.lastError = errorInfo(error)
    }
  }
  render()
})()

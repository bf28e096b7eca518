/**
 * The playground: one client, and what is otherwise debugged blind — the snapshot live, the time
 * left on the access token and until the next background refresh, every token request of every
 * open tab, and the last error with its code.
 */
import { createAuthClient, isAuthError, type AuthState } from '../src/index.js'
import { createTokenRequestLog, tabName, type TokenRequest } from './refresh-log.js'

// The provider `npm run dev` embeds under /oidc, unless VITE_AUTH_ISSUER names another.
const issuer = import.meta.env.VITE_AUTH_ISSUER ?? `${location.origin}/oidc`
const clientId = import.meta.env.VITE_AUTH_CLIENT_ID ?? 'spa-test'
const tab = tabName()
const tokenRequests = createTokenRequestLog(tab)

const auth = createAuthClient(
  {
    issuer,
    clientId,
    redirectUri: `${location.origin}/callback`,
    postLogoutRedirectUri: `${location.origin}/`,
  },
  { environment: { fetch: tokenRequests.fetch } },
)

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T
const clock = (at: number) => new Date(at).toLocaleTimeString()

// ---------------------------------------------------------------------------------------------
// The last error: a background failure from the snapshot, or a call made from this page.
// ---------------------------------------------------------------------------------------------

let lastError: { code: string; message: string; at: number; source: string } | null = null

function recordError(error: unknown, source: string): void {
  lastError = isAuthError(error)
    ? { code: error.code, message: error.message, at: Date.now(), source }
    : { code: 'unexpected', message: String(error), at: Date.now(), source }
  renderError()
}

function renderError(): void {
  $('error-box').hidden = lastError === null
  if (lastError === null) return
  $('error-code').textContent = lastError.code
  $('error-message').textContent = lastError.message
  $('error-meta').textContent = `${lastError.source}, at ${clock(lastError.at)}`
}

// ---------------------------------------------------------------------------------------------
// The log of token requests, all tabs
// ---------------------------------------------------------------------------------------------

let lastOwnRequestAt = 0

function logLine(at: number, who: string, what: string, mine: boolean): void {
  const item = document.createElement('li')
  item.className = mine ? 'mine' : ''
  const time = document.createElement('time')
  time.textContent = clock(at)
  const badge = document.createElement('span')
  badge.className = 'tab-badge'
  badge.textContent = who
  item.append(time, badge, ` ${what}`)
  $('log').prepend(item)
}

const GRANT_LABELS: Record<string, string> = {
  refresh_token: 'refreshed the tokens',
  authorization_code: 'exchanged a sign-in code',
}

tokenRequests.onRequest((request: TokenRequest) => {
  const mine = request.tab === tab
  if (mine) lastOwnRequestAt = request.at
  logLine(request.at, request.tab, `${GRANT_LABELS[request.grantType] ?? request.grantType} → ${request.outcome}`, mine)
})

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

let previous: AuthState = auth.getSnapshot()

function countdown(at: number | null | undefined): string {
  if (at === null || at === undefined) return '—'
  const seconds = Math.round((at - Date.now()) / 1000)
  return seconds >= 0 ? `${seconds} s` : `${-seconds} s ago`
}

function renderTimes(): void {
  const state = auth.getSnapshot()
  const refreshAt = auth.nextRefreshAt()
  $('expires-in').textContent = countdown(state.expiresAt)
  $('expires-at').textContent = state.expiresAt === null ? 'not signed in' : `at ${clock(state.expiresAt)}`
  $('refresh-in').textContent = state.status === 'signed-in' ? countdown(refreshAt) : '—'
  $('refresh-at').textContent =
    refreshAt === undefined || state.status !== 'signed-in'
      ? 'none planned'
      : `at ${clock(refreshAt)}, by whichever tab gets there first`
}

function render(): void {
  const state = auth.getSnapshot()
  if (state.error !== null && state.error !== previous.error) recordError(state.error, 'background')
  // New tokens this tab did not ask for: another tab refreshed and shared them.
  if (
    state.status === 'signed-in' &&
    previous.status === 'signed-in' &&
    state.expiresAt > previous.expiresAt &&
    Date.now() - lastOwnRequestAt > 3000
  ) {
    const from = auth.refreshIn === 'worker' ? 'the refresh worker' : 'another tab'
    logLine(Date.now(), tab, `got new tokens from ${from}, without a request of its own`, true)
  }
  if (state.status === 'signed-out' && previous.status === 'signed-in')
    logLine(Date.now(), tab, `signed out (${state.reason ?? 'no reason'})`, true)
  previous = state

  $('status').textContent = state.status
  $('status').dataset['status'] = state.status
  $('user').textContent =
    state.status === 'signed-in'
      ? `${String(state.user.name ?? state.user.sub)} (sub ${state.user.sub})`
      : state.status === 'signed-out'
        ? `reason: ${state.reason ?? 'never signed in'}`
        : ''
  $('snapshot').textContent = JSON.stringify(state, null, 2)
  $('provider').textContent =
    `${issuer} · client ${clientId} · storage ${state.storage ?? '…'} · refreshes in the ${auth.refreshIn}`
  const signedIn = state.status === 'signed-in'
  $<HTMLButtonElement>('sign-in').disabled = signedIn
  $<HTMLButtonElement>('sign-in-popup').disabled = signedIn
  for (const id of ['refresh', 'userinfo', 'sign-out']) $<HTMLButtonElement>(id).disabled = !signedIn
  renderTimes()
}

$('tab').textContent = `this tab: ${tab}`
auth.subscribe(render)
render()
setInterval(renderTimes, 1000)

// ---------------------------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------------------------

const show = (value: unknown) => ($('response').textContent = JSON.stringify(value, null, 2))

$('sign-in').onclick = () => auth.signIn({ returnTo: '/' }).catch((error) => recordError(error, 'signIn()'))
$('refresh').onclick = () => auth.refresh().catch((error) => recordError(error, 'refresh()'))
$('sign-out').onclick = () => auth.signOut().catch((error) => recordError(error, 'signOut()'))
// Straight from the click: the popup must open in the click's task, or the browser blocks it.
$('sign-in-popup').onclick = () =>
  auth.signInWithPopup({ returnTo: '/' }).catch((error) => recordError(error, 'signInWithPopup()'))
$('userinfo').onclick = () => auth.getUserInfo().then(show, (error) => recordError(error, 'getUserInfo()'))

if (auth.isRedirectCallback()) {
  auth
    .handleRedirectCallback()
    .then(({ returnTo }) => history.replaceState(null, '', returnTo))
    .catch((error) => recordError(error, 'handleRedirectCallback()'))
}

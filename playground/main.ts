import { createAuthClient, isAuthError } from '../src/index.js'

const issuer = import.meta.env.VITE_AUTH_ISSUER ?? __DEV_ISSUER__
const clientId = import.meta.env.VITE_AUTH_CLIENT_ID ?? 'spa-test'

const auth = createAuthClient({
  issuer,
  clientId,
  redirectUri: `${location.origin}/callback`,
  postLogoutRedirectUri: `${location.origin}/`,
})

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T

function show(value: unknown, target = 'response'): void {
  $(target).textContent = JSON.stringify(value, null, 2)
}

function showError(error: unknown): void {
  $('error').textContent = isAuthError(error) ? `${error.code}: ${error.message}` : String(error)
}

function render(): void {
  const state = auth.getSnapshot()
  $('status').textContent = state.status + (state.status === 'signed-out' && state.reason ? ` (${state.reason})` : '')
  show(state, 'snapshot')
  $('error').textContent = state.error ? `${state.error.code}: ${state.error.message}` : $('error').textContent
  const signedIn = state.status === 'signed-in'
  $<HTMLButtonElement>('sign-in').disabled = signedIn
  for (const id of ['refresh', 'userinfo', 'sign-out']) $<HTMLButtonElement>(id).disabled = !signedIn
  $('expiry').textContent = signedIn
    ? `Access token expires in ${Math.max(0, Math.round((state.expiresAt - Date.now()) / 1000))} s`
    : ''
}

$('provider').textContent = `Provider: ${issuer} — client: ${clientId} — storage: …`
auth.subscribe(render)
setInterval(render, 1000)
render()

$('sign-in').onclick = () => auth.signIn({ returnTo: '/' }).catch(showError)
$('refresh').onclick = () => auth.refresh().then(() => show({ refreshed: new Date().toISOString() }), showError)
$('sign-out').onclick = () => auth.signOut().catch(showError)
$('userinfo').onclick = async () => {
  try {
    const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()
    const response = await auth.fetch(discovery.userinfo_endpoint)
    show({ status: response.status, body: await response.json() })
  } catch (error) {
    showError(error)
  }
}

if (auth.isRedirectCallback()) {
  auth
    .handleRedirectCallback()
    .then(({ returnTo }) => history.replaceState(null, '', returnTo))
    .catch(showError)
}
auth.ready().then(() => {
  $('provider').textContent = `Provider: ${issuer} — client: ${clientId} — storage: ${auth.getSnapshot().storage}`
})

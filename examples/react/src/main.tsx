import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { BrowserRouter } from 'react-router'
import { createAuthClient } from 'spa-auth'
import { App } from './App'

const auth = createAuthClient({
  // `npm run dev` serves a provider under /oidc; set VITE_AUTH_ISSUER (e.g. https://my-app.authing.cn/oidc)
  // and VITE_AUTH_CLIENT_ID in .env.local to sign in with yours.
  issuer: import.meta.env.VITE_AUTH_ISSUER ?? `${location.origin}/oidc`,
  clientId: import.meta.env.VITE_AUTH_CLIENT_ID ?? 'spa-test',
  redirectUri: `${location.origin}/callback`,
  postLogoutRedirectUri: `${location.origin}/`,
})

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <BrowserRouter>
      <App auth={auth} />
    </BrowserRouter>
  </StrictMode>,
)

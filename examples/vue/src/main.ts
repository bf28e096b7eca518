import { createApp } from 'vue'
import { createWebHistory } from 'vue-router'
import { createAuthClient } from 'spa-auth'
import { createAuthPlugin } from 'spa-auth/vue'
import App from './App.vue'
import { createAppRouter } from './router'

const auth = createAuthPlugin(
  createAuthClient({
    // `npm run dev` serves a provider under /oidc; set VITE_AUTH_ISSUER (e.g. https://my-app.authing.cn/oidc)
    // and VITE_AUTH_CLIENT_ID in .env.local to sign in with yours.
    issuer: import.meta.env.VITE_AUTH_ISSUER ?? `${location.origin}/oidc`,
    clientId: import.meta.env.VITE_AUTH_CLIENT_ID ?? 'spa-test',
    redirectUri: `${location.origin}/callback`,
    postLogoutRedirectUri: `${location.origin}/`,
  }),
)

createApp(App).use(auth).use(createAppRouter(auth, createWebHistory())).mount('#app')

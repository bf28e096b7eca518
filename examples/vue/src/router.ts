import { createRouter, type RouterHistory } from 'vue-router'
import { createAuthGuard, type AuthPlugin } from 'spa-auth/vue'
import HomePage from './pages/HomePage.vue'

export function createAppRouter(auth: AuthPlugin, history: RouterHistory) {
  const router = createRouter({
    history,
    routes: [
      { path: '/', component: HomePage },
      // Signed-out visitors go to sign in, and come back here after.
      { path: '/profile', component: () => import('./pages/ProfilePage.vue'), meta: { requiresAuth: true } },
      // The provider sends the user back here; the plugin completes the sign-in, then router.replace(returnTo).
      { path: '/callback', component: HomePage },
    ],
  })
  // Waits for the stored session (and the callback), then lets signed-in users through.
  router.beforeEach(createAuthGuard(auth))
  return router
}

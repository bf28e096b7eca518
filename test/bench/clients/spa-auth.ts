/** spa-auth with its defaults: IndexedDB session, proactive refresh, Web Lock across tabs. */
import { createAuthClient } from 'spa-auth'
import type { BenchClient, BenchClientConfig } from './bench-client.js'

export function createBenchClient(config: BenchClientConfig): BenchClient {
  const auth = createAuthClient({
    issuer: config.issuer,
    clientId: config.clientId,
    redirectUri: config.redirectUri,
    postLogoutRedirectUri: config.postLogoutRedirectUri,
  })
  const signedIn = () => auth.getSnapshot().status === 'signed-in'
  return {
    async start() {
      await auth.ready()
      if (auth.isRedirectCallback()) {
        const { returnTo } = await auth.handleRedirectCallback()
        history.replaceState(null, '', returnTo)
      }
      return signedIn()
    },
    signIn: () => auth.signIn({ returnTo: '/' }),
    getAccessToken: () => auth.getAccessToken(),
    refresh: () => auth.refresh(),
    isSignedIn: async () => signedIn(),
    signOut: () => auth.signOut(),
  }
}

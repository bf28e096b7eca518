/**
 * auth0-spa-js as its docs set up an SPA with refresh tokens: `createAuth0Client` with
 * `useRefreshTokens` and the cache in localStorage (the in-memory default loses the session on
 * reload and is not shared between tabs), `offline_access` in the scope. Its URLs are fixed paths
 * on `domain` (no discovery): `/authorize`, `/oauth/token`, `/v2/logout`.
 */
import { createAuth0Client, type Auth0Client } from '@auth0/auth0-spa-js'
import type { BenchClient, BenchClientConfig } from './bench-client.js'

export function createBenchClient(config: BenchClientConfig): BenchClient {
  let auth0: Auth0Client
  const isCallback = () => {
    const params = new URLSearchParams(location.search)
    return params.has('state') && (params.has('code') || params.has('error'))
  }
  return {
    async start() {
      auth0 = await createAuth0Client({
        domain: config.issuer.replace(/\/$/, ''),
        clientId: config.clientId,
        useRefreshTokens: true,
        cacheLocation: 'localstorage',
        authorizationParams: {
          redirect_uri: config.redirectUri,
          scope: 'openid profile offline_access',
          // OIDC Core §11: the provider keeps offline_access only when the user consents.
          prompt: 'consent',
        },
      })
      if (isCallback()) {
        await auth0.handleRedirectCallback()
        history.replaceState(null, '', '/')
      }
      return auth0.isAuthenticated()
    },
    signIn: () => auth0.loginWithRedirect(),
    async getAccessToken() {
      const token = await auth0.getTokenSilently()
      if (token === undefined) throw new Error('getTokenSilently() returned no token')
      return token
    },
    // cacheMode 'off' skips the cache: with useRefreshTokens that is a refresh_token grant.
    refresh: async () => void (await auth0.getTokenSilently({ cacheMode: 'off' })),
    isSignedIn: () => auth0.isAuthenticated(),
    signOut: () => auth0.logout({ logoutParams: { returnTo: config.postLogoutRedirectUri } }),
  }
}

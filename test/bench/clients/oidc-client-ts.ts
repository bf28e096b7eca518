/**
 * oidc-client-ts as its docs set up an SPA with refresh tokens: `UserManager`, code flow,
 * `offline_access`, `automaticSilentRenew` (which renews with the refresh token when there is one)
 * and the user kept in localStorage so every tab and a reload share it (the default,
 * sessionStorage, is per tab).
 */
import { UserManager, WebStorageStateStore } from 'oidc-client-ts'
import type { BenchClient, BenchClientConfig } from './bench-client.js'

export function createBenchClient(config: BenchClientConfig): BenchClient {
  const userManager = new UserManager({
    authority: config.issuer,
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    post_logout_redirect_uri: config.postLogoutRedirectUri,
    response_type: 'code',
    scope: 'openid profile offline_access',
    // OIDC Core §11: the provider keeps offline_access only when the user consents.
    prompt: 'consent',
    automaticSilentRenew: true,
    ...(config.renewLeadSeconds === undefined
      ? {}
      : { accessTokenExpiringNotificationTimeInSeconds: config.renewLeadSeconds }),
    userStore: new WebStorageStateStore({ store: window.localStorage }),
  })
  const isCallback = () => {
    const params = new URLSearchParams(location.search)
    return (
      location.pathname === new URL(config.redirectUri).pathname &&
      params.has('state') &&
      (params.has('code') || params.has('error'))
    )
  }
  return {
    async start() {
      if (isCallback()) {
        await userManager.signinRedirectCallback()
        history.replaceState(null, '', '/')
      }
      const user = await userManager.getUser()
      return user !== null && !user.expired
    },
    signIn: () => userManager.signinRedirect(),
    async getAccessToken() {
      const user = await userManager.getUser()
      if (user !== null && user.expired !== true) return user.access_token
      // Expired (a tab restored after a while): renew it, with the refresh token.
      const renewed = await userManager.signinSilent()
      if (renewed === null) throw new Error('signinSilent() returned no user')
      return renewed.access_token
    },
    async refresh() {
      // With a refresh token in the stored user, signinSilent() sends the refresh_token grant.
      if ((await userManager.signinSilent()) === null) throw new Error('signinSilent() returned no user')
    },
    async isSignedIn() {
      return (await userManager.getUser()) !== null
    },
    signOut: () => userManager.signoutRedirect(),
  }
}

/**
 * The one job every library does in the benchmark, behind the same small shape: create the
 * client, sign in with a redirect, complete the callback, hand out an access token (renewed
 * automatically) and sign out. Each adapter is what an app following that library's own docs
 * writes; the Vite app of each library is exactly this module, clients/bench-client.ts and the page
 * harness (app/harness.ts), and the browser measures run that build.
 */

/** What the page knows when it starts: where the provider is and who the app is. */
export interface BenchClientConfig {
  issuer: string
  clientId: string
  redirectUri: string
  postLogoutRedirectUri: string
  /**
   * For a library whose renewal lead is a setting: renew this many seconds before the access token
   * expires. Unset: the library's default.
   */
  renewLeadSeconds?: number
}

export interface BenchClient {
  /** Loads the stored session and completes a sign-in response in the address bar; resolves whether the user is signed in. */
  start(): Promise<boolean>
  /** Leaves the page for the provider's authorization endpoint. */
  signIn(): Promise<void>
  /** A valid access token, refreshed first when the library thinks it must be. */
  getAccessToken(): Promise<string>
  /** Renews the tokens now with the refresh token, whatever their age. */
  refresh(): Promise<void>
  isSignedIn(): Promise<boolean>
  /** Ends the session (and leaves the page for the provider's logout endpoint). */
  signOut(): Promise<void>
}

export type CreateBenchClient = (config: BenchClientConfig) => BenchClient

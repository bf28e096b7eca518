/**
 * The three libraries the benchmark compares: where each one's bench client is, what its
 * provider must look like, how it is configured and what a reader must know to read its numbers.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { TestProviderOptions } from '../support/provider.js'

export type LibraryId = 'spa-auth' | 'oidc-client-ts' | 'auth0-spa-js'

export interface BenchLibrary {
  id: LibraryId
  /** Name and version, e.g. `oidc-client-ts 3.5.0`. */
  label: string
  /** The bench client module (see clients/bench-client.ts). */
  adapter: string
  /** What the provider needs for this client, on top of the 'strict' profile. */
  provider: Pick<TestProviderOptions, 'routes' | 'issuerTrailingSlash'>
  /** How it is configured, one line for the notes. */
  setup: string
  /** What its token getter is in the hot path and the burst. */
  tokenGetter: string
}

const versionOf = (packageJson: string): string =>
  (JSON.parse(readFileSync(fileURLToPath(new URL(packageJson, import.meta.url)), 'utf8')) as { version: string })
    .version

const adapter = (file: string) => fileURLToPath(new URL(`./clients/${file}`, import.meta.url))

export const LIBRARIES: readonly BenchLibrary[] = [
  {
    id: 'spa-auth',
    label: `spa-auth ${versionOf('../../package.json')}`,
    adapter: adapter('spa-auth.ts'),
    provider: {},
    setup:
      'createAuthClient({ issuer, clientId, redirectUri, postLogoutRedirectUri }), every default (IndexedDB, scope with offline_access)',
    tokenGetter: 'auth.getAccessToken()',
  },
  {
    id: 'oidc-client-ts',
    label: `oidc-client-ts ${versionOf('../../node_modules/oidc-client-ts/package.json')}`,
    adapter: adapter('oidc-client-ts.ts'),
    provider: {},
    setup:
      "UserManager({ response_type: 'code', scope: 'openid profile offline_access', prompt: 'consent', automaticSilentRenew: true, " +
      'userStore: WebStorageStateStore(localStorage) }); in the refresh runs accessTokenExpiringNotificationTimeInSeconds = lifetime / 4, the lead spa-auth takes',
    tokenGetter: '(await userManager.getUser()).access_token, and signinSilent() first when the user is expired',
  },
  {
    id: 'auth0-spa-js',
    label: `@auth0/auth0-spa-js ${versionOf('../../node_modules/@auth0/auth0-spa-js/package.json')}`,
    adapter: adapter('auth0-spa-js.ts'),
    // No discovery: fixed paths on `domain`, and it expects `iss` to be `${domain}/`.
    provider: {
      routes: { authorization: '/authorize', token: '/oauth/token', end_session: '/v2/logout' },
      issuerTrailingSlash: true,
    },
    setup:
      "createAuth0Client({ domain, clientId, useRefreshTokens: true, cacheLocation: 'localstorage', " +
      "authorizationParams: { redirect_uri, scope: 'openid profile offline_access', prompt: 'consent' } })",
    tokenGetter: 'auth0.getTokenSilently()',
  },
]

/**
 * The three libraries the benchmark compares: where each one's bench client is, what its
 * provider must look like, how it is configured and what a reader must know to read its numbers.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { TestProviderOptions } from '../support/provider.js'
import type { SplitSpec } from './bundle-size.js'

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
  /** Its `import()`s: the ones the bench client's job reaches, and those of features it does not use. */
  split?: SplitSpec
  /** A worker the library starts by itself, bundled on its own as an app's bundler does. */
  worker?: { entry: string; split: SplitSpec }
}

const versionOf = (packageJson: string): string =>
  (JSON.parse(readFileSync(fileURLToPath(new URL(packageJson, import.meta.url)), 'utf8')) as { version: string })
    .version

const adapter = (file: string) => fileURLToPath(new URL(`./clients/${file}`, import.meta.url))

/** spa-auth's `import()`s of features the bench client does not use (DPoP, PAR, popup, auth.fetch, userinfo off). */
const SPA_AUTH_FEATURES: SplitSpec['features'] = {
  'src/api/api-fetch.ts': 'auth.fetch()',
  'src/sign-in/popup.ts': 'signInWithPopup()',
  'src/protocol/dpop.ts': 'dpop: true',
  'src/protocol/par.ts': "PAR (par: 'always', or a provider that requires it)",
  'src/protocol/userinfo.ts': 'getUserInfo()',
}

export const LIBRARIES: readonly BenchLibrary[] = [
  {
    id: 'spa-auth',
    label: `spa-auth ${versionOf('../../package.json')}`,
    adapter: adapter('spa-auth.ts'),
    provider: {},
    setup:
      'createAuthClient({ issuer, clientId, redirectUri, postLogoutRedirectUri }), every default (IndexedDB, scope with offline_access; ' +
      'refreshes in the refresh worker, which the page serves as refresh-worker.js, bundled on its own as Vite or webpack would)',
    tokenGetter: 'auth.getAccessToken()',
    // The job: redirect sign-in, callback, refresh, sign-out (see clients/spa-auth.ts).
    split: {
      job: {
        'src/sign-in/flow.ts': 'signIn() and handleRedirectCallback()',
        'src/protocol/provider.ts':
          'the first request to the provider: authorization URL, code exchange, refresh, sign-out',
        'src/worker/page.ts':
          'every change to the session: the sign-in commit, refreshes (fetched 30 s ahead), sign-out',
      },
      features: SPA_AUTH_FEATURES,
    },
    worker: {
      entry: fileURLToPath(new URL('../../src/worker/entry.ts', import.meta.url)),
      split: { job: {}, features: SPA_AUTH_FEATURES },
    },
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

/**
 * The three libraries the benchmark compares: where each one's bench client is, what the app
 * installs for it, what its provider must look like, how it is configured and what a reader must
 * know to read its numbers. {@link SPA_AUTH_MODULES} is the one place the bench names modules
 * of src/.
 */
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { TestProviderOptions } from '../support/provider.js'
import type { SplitSpec } from './bundle-size.js'

export type LibraryId = 'spa-auth' | 'oidc-client-ts' | 'auth0-spa-js'

export interface BenchLibrary {
  id: LibraryId
  /** Name and version, e.g. `oidc-client-ts 3.5.0`. */
  label: string
  /** The bench client's file in clients/ (see clients/bench-client.ts), e.g. `spa-auth.ts`. */
  client: string
  /** The bench client's absolute path, for the esbuild row. */
  adapter: string
  /** The package the Vite app installs at the version this repository locks; absent: this repository, packed (`npm pack`). */
  package?: string
  /** What the provider needs for this client, on top of the 'strict' profile. */
  provider: Pick<TestProviderOptions, 'routes' | 'issuerTrailingSlash'>
  /** How it is configured, one line for the notes. */
  setup: string
  /** What its token getter is in the hot path and the burst. */
  tokenGetter: string
  /** Its modules the bench names (spa-auth's: {@link SPA_AUTH_MODULES}). */
  modules?: LibraryModules
}

/** Modules of a library the bench names, each with why; paths relative to the repository. */
export interface LibraryModules {
  /** `import()` targets the default job reaches → the step that loads each (the esbuild row's job). */
  job: Record<string, string>
  /** `import()` targets of features the job does not use → what turns each on (labels their chunks). */
  features: Record<string, string>
  /** The refresh worker's entry (the esbuild row bundles it on its own). */
  workerEntry: string
  /**
   * The refresh service worker as the package ships it, relative to the package (e.g.
   * `dist/refresh-service-worker.js`): an app's bundler copies it as it is, without bundling it.
   */
  serviceWorker: string
}

/**
 * The only place the bench names spa-auth's modules. The Vite app row needs none of them to
 * measure (its job is what Chromium fetched); they label the chunks of the features the job does
 * not use, and they place the esbuild row's `import()`s. A module named here that no longer
 * exists, or no longer is where it is placed, fails the measure with a message pointing here.
 */
export const SPA_AUTH_MODULES: LibraryModules = {
  job: {
    'src/sign-in/flow.ts': 'signIn() and handleRedirectCallback()',
    'src/protocol/provider.ts':
      'the first request to the provider: authorization URL, code exchange, refresh, sign-out',
    'src/worker/page.ts':
      'the refresh: the transaction, here or in the refresh worker (loaded in idle time once one is planned)',
  },
  features: {
    'src/api/api-fetch.ts': 'auth.fetch()',
    'src/sign-in/popup.ts': 'signInWithPopup()',
    'src/protocol/dpop.ts': 'dpop: true',
    'src/protocol/par.ts': "PAR (par: 'always', or a provider that requires it)",
    'src/protocol/userinfo.ts': 'getUserInfo()',
    'src/protocol/resource-request.ts': 'auth.fetch() and getUserInfo(): the request and its challenge',
    'src/protocol/challenge.ts': "a resource server's challenge (invalid_token, insufficient_scope, step-up)",
  },
  workerEntry: 'src/worker/entry.ts',
  serviceWorker: 'dist/refresh-service-worker.js',
}

const REPO = fileURLToPath(new URL('../../', import.meta.url))

/** Where a message about a stale module name sends the reader. */
export const MODULE_TABLE = 'SPA_AUTH_MODULES in test/bench/libraries.ts'

/**
 * Throws when a module of `modules` no longer exists in the repository, naming each and the
 * table to update; `modules` maps path → what it is for.
 */
export function assertModulesExist(modules: Record<string, string>): void {
  const missing = Object.entries(modules).filter(([path]) => !existsSync(`${REPO}${path}`))
  if (missing.length > 0) {
    throw new Error(
      `${MODULE_TABLE} names ${missing.map(([path, use]) => `${path} (${use})`).join(', ')}, which no longer ` +
        `exist${missing.length === 1 ? 's' : ''}: point the table at the modules that do this now`,
    )
  }
}

/** The esbuild row's split of spa-auth: every `import()` of the job, and of the features. */
export const splitOf = (modules: LibraryModules): SplitSpec => ({ job: modules.job, features: modules.features })

const versionOf = (packageJson: string): string =>
  (JSON.parse(readFileSync(fileURLToPath(new URL(packageJson, import.meta.url)), 'utf8')) as { version: string })
    .version

const adapter = (file: string) => fileURLToPath(new URL(`./clients/${file}`, import.meta.url))

export const LIBRARIES: readonly BenchLibrary[] = [
  {
    id: 'spa-auth',
    label: `spa-auth ${versionOf('../../package.json')}`,
    client: 'spa-auth.ts',
    adapter: adapter('spa-auth.ts'),
    provider: {},
    setup:
      'createAuthClient({ issuer, clientId, redirectUri, postLogoutRedirectUri }), every default (IndexedDB, scope with offline_access; ' +
      'refreshes in the refresh worker, which the app’s Vite bundles on its own)',
    tokenGetter: 'auth.getAccessToken()',
    modules: SPA_AUTH_MODULES,
  },
  {
    id: 'oidc-client-ts',
    label: `oidc-client-ts ${versionOf('../../node_modules/oidc-client-ts/package.json')}`,
    client: 'oidc-client-ts.ts',
    adapter: adapter('oidc-client-ts.ts'),
    package: 'oidc-client-ts',
    provider: {},
    setup:
      "UserManager({ response_type: 'code', scope: 'openid profile offline_access', prompt: 'consent', automaticSilentRenew: true, " +
      'userStore: WebStorageStateStore(localStorage) }); in the refresh runs accessTokenExpiringNotificationTimeInSeconds = lifetime / 4, the lead spa-auth takes',
    tokenGetter: '(await userManager.getUser()).access_token, and signinSilent() first when the user is expired',
  },
  {
    id: 'auth0-spa-js',
    label: `@auth0/auth0-spa-js ${versionOf('../../node_modules/@auth0/auth0-spa-js/package.json')}`,
    client: 'auth0-spa-js.ts',
    adapter: adapter('auth0-spa-js.ts'),
    package: '@auth0/auth0-spa-js',
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

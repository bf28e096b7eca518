/**
 * The package as users get it: `npm pack`, then fresh projects in a temporary folder that install
 * the tarball with npm — a Vite + React app and a Vite + Vue app made of the example apps'
 * sources (examples/react/src, examples/vue/src), a plain Vite app made of the README's quick start,
 * and a TypeScript project importing all four entries. The apps are built with Vite, served on
 * localhost, and sign in, reload signed in and sign out in Chromium and in Firefox against
 * oidc-provider (one file for both engines: the package is packed and installed once). The React
 * app also runs the testing guide's React test (test/examples/react.example.test.tsx, with
 * docs/testing.md's vitest.config.ts) with its own Vitest, on spa-auth/testing, under happy-dom and
 * under jsdom, with no setup file. The browser suites' small app (test/browser/app) refreshes in the
 * refresh worker its build took from the package (the SharedWorker in Chromium, the service worker
 * in Firefox), through a reload in the middle of a refresh.
 */
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Script } from 'node:vm'
import vuePlugin from '@vitejs/plugin-vue'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { build, type InlineConfig } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import {
  createProject,
  exampleFiles,
  markdownFiles,
  packLibrary,
  REPO,
  runVitest,
  typecheck,
  type PackedLibrary,
} from './frameworks/fresh-project.js'
import { serveStatic } from './support/app-server.js'
import { ENGINES, launchEngine, skipBrowserSuites, skipEngine, type Engine, type EngineName } from './support/engine.js'
import { configureApp, openTab, signInFrom, snapshotOf } from './support/tabs.js'

/** The fresh apps: the two example apps, and the README's quick start (no framework). */
type Framework = 'react' | 'vue' | 'quick-start' | 'plain'
const FRAMEWORKS = ['react', 'vue', 'quick-start'] as const

/** The browser suites' small app, as files of a project of its own. */
const PLAIN_APP_FILES = ['index.html', 'main.ts', 'window.ts']

/** The engines the apps run in: this file runs once, with the Chromium suites. */
const APP_ENGINES = (['chromium', 'firefox'] as const).filter((name) => !skipEngine(name))

const REACT_APP_DEPENDENCIES = ['react', 'react-dom', 'react-router', '@types/react', '@types/react-dom']
/** What the testing guide tells a React app to install, for happy-dom and for jsdom. */
const TEST_DEPENDENCIES = ['vitest', 'happy-dom', 'jsdom', '@testing-library/react', '@testing-library/dom']

const STRICT_COMPILER_OPTIONS = {
  target: 'ES2022',
  lib: ['ES2022', 'DOM', 'DOM.Iterable'],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  verbatimModuleSyntax: true,
  skipLibCheck: false,
  noEmit: true,
  types: [],
}

/** Declares the quick start's environment variables, as create-vite's src/vite-env.d.ts does (vite itself is not installed in the app). */
const VITE_ENV_TYPES = `interface ImportMetaEnv {
  readonly VITE_AUTH_ISSUER: string
  readonly VITE_AUTH_CLIENT_ID: string
}
interface ImportMeta {
  readonly env: ImportMetaEnv
}
`
/** \`import.meta.env\` for the React example, whose src/vite-env.d.ts declares its variables (vite/client declares this part). */
const IMPORT_META_TYPES = `interface ImportMeta {
  readonly env: ImportMetaEnv
}
`

/** The compiler options of a fresh app that a bundler builds. */
const APP_COMPILER_OPTIONS = { ...STRICT_COMPILER_OPTIONS, module: 'ESNext', moduleResolution: 'Bundler' }
/**
 * The example apps check their own code against the package's types; the declaration files
 * themselves (ours, React's, React Router's) are checked once, strictly, by the types project with
 * both resolutions. Checking every library's declarations again in each app took half a minute of
 * compiler time, for nothing the types project does not check already.
 */
const APP_LIB_CHECK = { skipLibCheck: true }

const indexHtml = (mountId: string, entry: string) => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <link rel="icon" href="data:," />
    <title>fresh app</title>
  </head>
  <body>
    <div id="${mountId}"></div>
    <script type="module" src="${entry}"></script>
  </body>
</html>
`

/** Every entry used the way the README shows, with the types it promises. */
const TYPES_CHECK = `import { createAuthClient, isAuthError, type AuthState } from 'spa-auth'
import { AuthProvider, useAuth, type AuthProviderProps, type UseAuthResult } from 'spa-auth/react'
import { createAuthGuard, createAuthPlugin, useAuth as useVueAuth, type AuthPlugin, type GuardedRoute } from 'spa-auth/vue'
import { createTestProvider, type ProviderRequest, type TestProvider } from 'spa-auth/testing'

const auth = createAuthClient({ issuer: 'https://my-app.authing.cn/oidc', clientId: 'APP_ID', redirectUri: 'https://app.example/callback' })
const plugin: AuthPlugin = createAuthPlugin(auth)
const fromConfig: AuthPlugin = createAuthPlugin({ issuer: 'https://my-app.authing.cn/oidc', clientId: 'APP_ID', redirectUri: 'https://app.example/callback' })
const guard: (to: GuardedRoute) => Promise<boolean> = createAuthGuard(plugin, { requiresAuth: (to) => to.meta['requiresAuth'] === true })
const withClient: AuthProviderProps = { client: auth, onRedirectCallback: ({ returnTo }) => void returnTo }
// @ts-expect-error a provider takes a client or a config, not both
const withBoth: AuthProviderProps = { client: auth, config: { issuer: 'https://x', clientId: 'x', redirectUri: 'https://x' } }

const testProvider: TestProvider = createTestProvider({ accessTokenTtlSeconds: 300, signingAlg: 'ES256' })
export const testClient = testProvider.createClient({ scope: 'openid profile' })
export const signedIn: Promise<string> = testProvider.signIn(testClient, { sub: 'alice', name: 'Alice' }).then(({ user }) => user.sub)
export const refreshes = (requests: readonly ProviderRequest[]) => requests.filter((request) => request.grantType === 'refresh_token')
// @ts-expect-error a test user needs a sub
void testProvider.signIn(testClient, { name: 'nobody' })

export function greeting(result: UseAuthResult): string {
  return result.status === 'signed-in' ? String(result.user.name ?? result.user.sub) : 'nobody'
}
export function describeState(state: AuthState, error: unknown): string {
  return isAuthError(error) ? error.code : state.status
}
export { AuthProvider, useAuth, useVueAuth, fromConfig, guard, withClient, withBoth }
`

interface ServedApp {
  origin: string
  outDir: string
  close(): Promise<void>
}

describe.skipIf(skipBrowserSuites)('the packed package in fresh Vite apps', () => {
  let work: string
  let library: PackedLibrary
  let provider: TestProvider
  /** Rotates refresh tokens and detects their reuse, for the small app. */
  let rotating: TestProvider
  const browsers = {} as Record<EngineName, Engine>
  const apps = {} as Record<Framework, ServedApp>
  const timings: Record<string, number> = {}

  async function timed<T>(label: string, task: () => Promise<T>): Promise<T> {
    const started = performance.now()
    try {
      return await task()
    } finally {
      timings[label] = Math.round(performance.now() - started)
    }
  }

  async function buildApp(framework: Framework, config: InlineConfig): Promise<void> {
    const root = join(work, `${framework}-app`)
    await build({
      configFile: false,
      root,
      logLevel: 'warn',
      ...config,
      build: { outDir: apps[framework].outDir, emptyOutDir: true, minify: false, reportCompressedSize: false },
    })
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'spa-auth-package-'))
    library = await timed('build and pack', () => packLibrary(work))

    // Serve first: the provider must know the apps' origins, and the apps' .env the provider's issuer.
    for (const framework of [...FRAMEWORKS, 'plain'] as const) {
      const outDir = join(work, `${framework}-dist`)
      await mkdir(outDir)
      apps[framework] = { outDir, ...(await serveStatic(outDir)) }
    }
    const origins = FRAMEWORKS.map((framework) => apps[framework].origin)
    ;[provider, rotating] = await Promise.all([
      startTestProvider({
        profile: 'authing-like',
        redirectUris: origins.map((origin) => `${origin}/callback`),
        postLogoutRedirectUris: origins.map((origin) => `${origin}/`),
      }),
      startTestProvider({
        profile: 'strict',
        accessTokenTtlSeconds: 3600,
        redirectUris: [`${apps.plain.origin}/callback`],
      }),
    ])
    const env = `VITE_AUTH_ISSUER=${provider.issuer}\nVITE_AUTH_CLIENT_ID=${provider.clientId}\n`

    const [react, vue, quickStart, testing, reactTest, plain] = await Promise.all([
      exampleFiles('react'),
      exampleFiles('vue'),
      markdownFiles('README.md', 'Quick start'),
      markdownFiles('docs/testing.md', 'Setup (Vitest)'),
      readFile(join(REPO, 'test', 'examples', 'react.example.test.tsx'), 'utf8'),
      Promise.all(
        PLAIN_APP_FILES.map(
          async (file) => [file, await readFile(new URL(`./app/${file}`, import.meta.url), 'utf8')] as const,
        ),
      ).then((files) => Object.fromEntries(files)),
    ])
    const installs = await timed('npm ci of the five projects', () =>
      Promise.all([
        createProject(join(work, 'react-app'), library, [...REACT_APP_DEPENDENCIES, ...TEST_DEPENDENCIES], {
          ...react,
          'vitest.config.ts': testing['vitest.config.ts']!,
          'src/Profile.test.tsx': reactTest,
          '.env': env,
          'index.html': indexHtml('root', '/src/main.tsx'),
          'src/import-meta.d.ts': IMPORT_META_TYPES,
          'tsconfig.json': JSON.stringify({
            compilerOptions: { ...APP_COMPILER_OPTIONS, ...APP_LIB_CHECK, jsx: 'react-jsx' },
            include: ['src'],
            // The testing guide's test runs with Vitest below; its types need @types/node, which an app has.
            exclude: ['src/**/*.test.tsx'],
          }),
        }),
        createProject(join(work, 'vue-app'), library, ['vue', 'vue-router'], {
          ...vue,
          '.env': env,
          'index.html': indexHtml('app', '/src/main.ts'),
        }),
        createProject(join(work, 'quick-start-app'), library, [], {
          'src/main.ts': quickStart['src/main.ts']!,
          '.env': env,
          'index.html': indexHtml('app', '/src/main.ts'),
          'src/vite-env.d.ts': VITE_ENV_TYPES,
          'tsconfig.json': JSON.stringify({
            compilerOptions: { ...APP_COMPILER_OPTIONS, ...APP_LIB_CHECK },
            include: ['src'],
          }),
        }),
        createProject(join(work, 'plain-app'), library, [], plain),
        createProject(join(work, 'types'), library, ['@types/react', 'vue'], {
          'check.ts': TYPES_CHECK,
          'tsconfig.bundler.json': JSON.stringify({ compilerOptions: APP_COMPILER_OPTIONS, files: ['check.ts'] }),
          'tsconfig.nodenext.json': JSON.stringify({
            compilerOptions: { ...STRICT_COMPILER_OPTIONS, module: 'NodeNext', moduleResolution: 'NodeNext' },
            files: ['check.ts'],
          }),
        }),
      ]),
    )
    Object.assign(timings, {
      'npm ci react-app': installs[0],
      'npm ci vue-app': installs[1],
      'npm ci quick-start-app': installs[2],
      'npm ci plain-app': installs[3],
      'npm ci types': installs[4],
    })

    await timed('vite build of the four apps', () =>
      Promise.all([
        // Development React, so StrictMode really runs every effect twice in Chromium too.
        buildApp('react', {
          mode: 'development',
          define: { 'process.env.NODE_ENV': '"development"' },
          oxc: { jsx: { runtime: 'automatic' } },
        }),
        buildApp('vue', { plugins: [vuePlugin()] }),
        buildApp('quick-start', {}),
        buildApp('plain', {}),
      ]),
    )
    await Promise.all(APP_ENGINES.map(async (name) => void (browsers[name] = await launchEngine(name))))
  })

  afterAll(async () => {
    console.info(
      `tarball ${library?.filename}: ${library?.size} bytes (${library?.unpackedSize} unpacked, ${library?.files.length} files); timings (ms): ${JSON.stringify(timings)}`,
    )
    await Promise.all(Object.values(browsers).map((started) => started.close()))
    await provider?.close()
    await rotating?.close()
    await Promise.all(Object.values(apps).map((app) => app.close()))
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('packs the four entries with their types, and nothing outside dist/', () => {
    for (const entry of ['index', 'react', 'vue', 'testing']) {
      expect(library.files).toContain(`dist/${entry}.js`)
      expect(library.files).toContain(`dist/${entry}.d.ts`)
    }
    expect(library.files).toContain('dist/refresh-worker.js')
    expect(library.files).toContain('dist/refresh-service-worker.js')
    expect(library.files.filter((file) => !file.startsWith('dist/'))).toEqual(['README.md', 'package.json'])
  })

  it('publint finds nothing to report in the tarball', async () => {
    const tarball = await readFile(library.tarball)
    const { messages, pkg } = await publint({
      pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
      level: 'suggestion',
    })
    expect(messages.map((message) => formatMessage(message, pkg) ?? message.code)).toEqual([])
  })

  // The four checks below run compilers and Vitest in child processes: side by side, not in turn.
  it.concurrent(
    'resolves the four entries with their types in a fresh TypeScript project (bundler and nodenext)',
    async () => {
      await Promise.all([
        typecheck(join(work, 'types', 'tsconfig.bundler.json')),
        typecheck(join(work, 'types', 'tsconfig.nodenext.json')),
      ])
    },
  )

  it.concurrent('type-checks the React example against the installed package', async () => {
    await typecheck(join(work, 'react-app', 'tsconfig.json'))
  })

  it.concurrent("type-checks the README's quick start against the installed package", async () => {
    await typecheck(join(work, 'quick-start-app', 'tsconfig.json'))
  })

  it.concurrent(
    "runs the testing guide's React test with Vitest in the fresh React app, under happy-dom and under jsdom with no setup file, green",
    async ({ expect }) => {
      // One after the other: side by side with the compilers above, two runs at once starve each
      // other. runVitest gives each test 30 s (Vitest takes one --testTimeout only): the suite runs
      // beside every other test file, where a jsdom sign-in can take longer than Vitest's default 5 s.
      for (const environment of ['happy-dom', 'jsdom']) {
        const output = await timed(`vitest run in react-app (${environment})`, () =>
          runVitest(join(work, 'react-app'), ['--environment', environment]),
        )

        expect(output).toMatch(/src\/Profile\.test\.tsx \(4 tests\)/)
        expect(output).toMatch(/Tests {2}4 passed \(4\)/)
      }
    },
  )

  it("ships the refresh service worker as one classic script that imports nothing, and the app's build copies it as it is", async () => {
    const shipped = await readFile(
      join(work, 'plain-app', 'node_modules', 'spa-auth', 'dist', 'refresh-service-worker.js'),
      'utf8',
    )
    // A classic script compiles as one (an import statement would not); a service worker may not import().
    expect(() => new Script(shipped)).not.toThrow()
    expect(shipped).not.toMatch(/\bimport\s*\(|\bimport\.meta\b/)
    const assets = join(apps.plain.outDir, 'assets')
    const copies = (await readdir(assets)).filter((file) => /^refresh-service-worker-[\w-]+\.js$/.test(file))
    expect(copies).toHaveLength(1)
    expect(await readFile(join(assets, copies[0]!), 'utf8')).toBe(shipped)
  })

  it.each(APP_ENGINES.map((name) => [ENGINES[name].refreshHost, ENGINES[name].title, name] as const))(
    'the small app refreshes in the %s in %s, through a reload in the middle of a refresh',
    async (refreshHost, _title, engineName) => {
      const { origin } = apps.plain
      const context = await browsers[engineName].newProfile()
      try {
        await configureApp(context, origin, rotating.issuer, rotating.clientId)
        const page = await openTab(context, `${origin}/`)
        await signInFrom(page, origin)
        expect(await page.evaluate(() => window.auth.refreshIn)).toBe(refreshHost)

        // The provider rotates the refresh token and holds its answer; the page reloads meanwhile.
        const { expiresAt } = await snapshotOf(page)
        const hold = rotating.holdNext({ grantType: 'refresh_token' })
        void page.evaluate(() => void window.auth.refresh().catch(() => {}))
        await hold.reached
        await page.reload()
        hold.release()
        await page.evaluate(() => window.appReady)

        // The reloaded app takes the session the refresh rotated to, and refreshes it again.
        await expect.poll(async () => (await snapshotOf(page)).expiresAt).toBeGreaterThan(expiresAt!)
        const grants = rotating.countRequests({ grantType: 'refresh_token' })
        const refreshed = await page.evaluate(() =>
          window.auth.refresh().then(
            () => window.auth.refreshIn,
            (error: { code?: string }) => error.code ?? String(error),
          ),
        )
        expect(refreshed).toBe(refreshHost)
        expect(rotating.countRequests({ grantType: 'refresh_token' })).toBe(grants + 1)
        expect(await page.evaluate(() => window.auth.getUserInfo().then(({ sub }) => sub))).toBe('alice')
      } finally {
        await context.close()
      }
    },
  )

  const appsInEachEngine = APP_ENGINES.flatMap((name) =>
    FRAMEWORKS.map((framework) => [framework, ENGINES[name].title, name] as const),
  )
  it.each(appsInEachEngine)(
    'the %s app signs in, reloads signed in, and signs out in %s',
    async (framework, _title, engineName) => {
      const { origin } = apps[framework]
      const context = await browsers[engineName].newProfile()
      const page = await context.newTab()
      const problems: string[] = []
      context.onPageError((error) => problems.push(error))
      context.onConsole((message) => {
        // Chromium asks every origin for /favicon.ico; the provider has none.
        if (message.url.endsWith('/favicon.ico')) return
        if (message.type === 'error' || message.type === 'warning')
          problems.push(`console.${message.type}: ${message.text} (${message.url})`)
      })
      const codeGrants = () => provider.countRequests({ grantType: 'authorization_code' })
      const grantsBefore = codeGrants()

      try {
        await page.goto(`${origin}/`)
        await page.waitForButton('Sign in')

        await page.clickButton('Sign in')
        await page.waitForText('Signed in as Alice Example', 30_000)
        expect(page.url()).toBe(`${origin}/`)
        expect(codeGrants() - grantsBefore).toBe(1)

        provider.resetRequests()
        await page.reload()
        await page.waitForText('Signed in as Alice Example')
        expect(provider.requests).toEqual([])

        await page.clickButton('Sign out')
        await page.click('button[name="logout"][value="yes"]')
        await page.waitForUrl((url) => url === `${origin}/`)
        await page.waitForButton('Sign in')
        expect(provider.requests.filter((request) => request.path.endsWith('/token/revocation'))).toHaveLength(1)

        await page.reload()
        await page.waitForButton('Sign in')
        expect(problems).toEqual([])
      } finally {
        await context.close()
      }
    },
  )
})

import { fileURLToPath } from 'node:url'
import { build, type Plugin, type Rolldown } from 'vite'
import { defineConfig } from 'vitest/config'
import { embeddedProvider } from './dev/embedded-provider.js'
import { PACKAGE_ALIASES } from './dev/package-aliases.js'
import { LongestFirst } from './test/support/longest-first.js'

/** Dependencies and peer dependencies: imported by the built package, never bundled into it. */
const PACKAGE_EXTERNALS = ['oauth4webapi', 'idb-keyval', 'react', 'react-dom', 'vue']
const ADAPTERS = /[\\/]src[\\/](react|vue|testing)\.ts$/
/**
 * The library build must leave `new SharedWorker(new URL('./entry.ts', import.meta.url), …)`
 * to the app's bundler: Vite would bundle the worker itself, as a classic script at an absolute
 * path. The expression is hidden from Vite's worker plugin, then written back pointing at the
 * built entry `./refresh-worker.js` (a sibling of every chunk), where the app's Vite or webpack 5
 * finds it and bundles the worker with the app.
 */
function refreshWorkerForTheApp(): Plugin {
  return urlLeftToTheApp({
    name: 'spa-auth:refresh-worker-url',
    module: /[\\/]src[\\/]worker[\\/]page\.ts$/,
    source: "new URL('./entry.ts', import.meta.url)",
    built: "new URL('./refresh-worker.js', import.meta.url)",
  })
}

/**
 * The refresh service worker ships as one classic script, `refresh-service-worker.js`, beside the
 * chunks: the app's bundler copies a file that `new URL('./x.js', import.meta.url)` names as it is
 * (Vite, and webpack 5 for anything outside a worker constructor), so the script inlines every
 * dependency, and imports nothing (a service worker may not `import()`). It is minified here, as no
 * app build will. The page's expression that names it is hidden from this build (which would look
 * for the file beside the source), then written back as it was.
 */
function refreshServiceWorkerForTheApp(): Plugin {
  const source = "new URL('./refresh-service-worker.js', import.meta.url)"
  return {
    ...urlLeftToTheApp({
      name: 'spa-auth:refresh-service-worker',
      module: /[\\/]src[\\/]worker[\\/]service-worker-link\.ts$/,
      source,
      built: source,
    }),
    async generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'refresh-service-worker.js', source: await classicScript() })
    },
  }
}

/**
 * Hides the expression `source` in `module` from the library build (a marker as long as it, so
 * every line and column, and the source map, stay where they were), and writes `built` where it
 * was in the built chunk: the URL is left for the app's bundler to resolve.
 */
function urlLeftToTheApp(url: { name: string; module: RegExp; source: string; built: string }): Plugin {
  const { source, built } = url
  const marker = `__${url.name.replace(/\W/g, '_').toUpperCase()}__`.padEnd(source.length, '_')
  return {
    name: url.name,
    apply: 'build',
    enforce: 'pre',
    transform(code, id) {
      if (!url.module.test(id) || !code.includes(source)) return null
      return { code: code.replace(source, marker), map: null }
    },
    renderChunk(code) {
      return code.includes(marker) ? { code: code.replace(marker, built), map: null } : null
    },
  }
}

/** src/worker/service-worker.ts as one self-contained, minified classic script. */
async function classicScript(): Promise<string> {
  const built = await build({
    configFile: false,
    root: fileURLToPath(new URL('.', import.meta.url)),
    logLevel: 'warn',
    build: {
      write: false,
      lib: { entry: 'src/worker/service-worker.ts', formats: ['iife'], name: 'spaAuthRefreshServiceWorker' },
      target: 'es2022',
      minify: true,
      sourcemap: false,
    },
  })
  const [output] = (Array.isArray(built) ? built : [built]) as Rolldown.RolldownOutput[]
  const chunk = output?.output.find((file) => file.type === 'chunk')
  // The dynamic imports of the protocol's steps are inlined: they name this one chunk.
  const elsewhere = [...(chunk?.imports ?? []), ...(chunk?.dynamicImports ?? [])].filter(
    (file) => file !== chunk?.fileName,
  )
  if (chunk === undefined || elsewhere.length > 0)
    throw new Error(`The refresh service worker must be one self-contained script; it imports ${elsewhere.join(', ')}.`)
  return chunk.code
}

export default defineConfig({
  plugins: [embeddedProvider(), refreshWorkerForTheApp(), refreshServiceWorkerForTheApp()],
  // The embedded provider takes the origin the server gets: another port when 5173 is taken.
  server: { host: '127.0.0.1', port: 5173 },
  // The dev server serves the playground only: the dependency scan starts from its page, not from
  // every HTML file under the root (the Chromium test app imports 'spa-auth' as a consumer does and
  // is built on its own, see test/browser/support/app-server.ts).
  optimizeDeps: { entries: ['index.html'] },
  build: {
    lib: {
      entry: {
        index: 'src/index.ts',
        react: 'src/react.ts',
        vue: 'src/vue.ts',
        testing: 'src/testing.ts',
        'refresh-worker': 'src/worker/entry.ts',
      },
      formats: ['es'],
    },
    rolldownOptions: {
      // The adapters (and the testing entry) import the core as the sibling file ./index.js: one copy
      // of the client (and of the AuthError class) whichever entries an app imports, and no shared
      // chunk beside them.
      external: (id, importer) =>
        PACKAGE_EXTERNALS.some((name) => id === name || id.startsWith(`${name}/`)) ||
        (id === './index.js' && importer !== undefined && ADAPTERS.test(importer)),
      // Every chunk beside the entries: the worker URL is relative to the chunk that names it.
      output: { chunkFileNames: '[name]-[hash].js' },
    },
    target: 'es2022',
    minify: false,
    sourcemap: true,
  },
  test: {
    environment: 'happy-dom',
    // Every core (Vitest leaves one free by default): the Node suites are short and CPU-bound.
    maxWorkers: '100%',
    testTimeout: 15_000,
    hookTimeout: 30_000,
    sequence: { sequencer: LongestFirst },
    projects: [
      // The example apps, each with its own configuration, as an app has.
      'examples/react/vite.config.ts',
      'examples/vue/vite.config.ts',
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/browser/**', 'test/examples/**', 'test/bench-smoke.test.ts'],
        },
      },
      // The README's "Testing your app" examples, as an app runs them: imports from 'spa-auth/…',
      // the same files under both DOM environments an app may choose.
      ...(['happy-dom', 'jsdom'] as const).map((environment) => ({
        extends: true as const,
        resolve: { alias: PACKAGE_ALIASES },
        test: {
          name: `examples-${environment}`,
          environment,
          include: ['test/examples/**/*.test.{ts,tsx}'],
        },
      })),
      // The real-browser suites, once per engine (test/browser/support/engine.ts). They run after
      // the others, three files at a time whatever their engine: most of their time is spent waiting
      // on tokens to age and on held responses, and each file builds, serves and launches its own.
      // The packed package's apps run in every engine from one file, so it packs and installs once.
      ...(['chromium', 'firefox'] as const).map((engine) => ({
        extends: true as const,
        test: {
          name: `browser-${engine}`,
          environment: 'node',
          // The bench's smoke test builds apps and records them in Chromium: a browser file too, run
          // beside the others rather than among the short Node suites.
          include: ['test/browser/**/*.test.ts', ...(engine === 'chromium' ? ['test/bench-smoke.test.ts'] : [])],
          // The packed package's apps and the dev servers' examples drive their browsers themselves.
          exclude: engine === 'chromium' ? [] : ['test/browser/package.test.ts', 'test/browser/examples.test.ts'],
          env: { SPA_AUTH_BROWSER: engine },
          // The library and the test app, built once for the run: every suite serves the same files.
          globalSetup: ['test/browser/support/build-once.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          maxWorkers: 3,
          sequence: { groupOrder: 1 },
        },
      })),
    ],
  },
})

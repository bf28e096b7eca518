import { fileURLToPath } from 'node:url'
import type { Plugin } from 'vite'
import { defineConfig } from 'vitest/config'

const DEV_ORIGIN = 'http://127.0.0.1:5173'
/** Dependencies and peer dependencies: imported by the built package, never bundled into it. */
const PACKAGE_EXTERNALS = ['oauth4webapi', 'idb-keyval', 'react', 'react-dom', 'vue']
const ADAPTERS = /[\\/]src[\\/](react|vue|testing)\.ts$/
/** The package's own entries by name, as an app imports them (tsconfig.json's `paths` says the same to tsc). */
const PACKAGE_ALIASES = [
  { find: /^spa-auth$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  { find: /^spa-auth\/(react|vue|testing)$/, replacement: fileURLToPath(new URL('./src/$1.ts', import.meta.url)) },
]

/**
 * Mounts a real OpenID Provider (oidc-provider) under /oidc on the dev server, so the playground
 * signs in with no account anywhere. Skipped when VITE_AUTH_ISSUER points at a real provider.
 */
function embeddedProvider(): Plugin {
  return {
    name: 'spa-auth:embedded-provider',
    apply: 'serve',
    async configureServer(server) {
      if (process.env['VITE_AUTH_ISSUER'] || process.env['VITEST']) return
      const { createProviderMiddleware } = await import('./test/support/provider.js')
      server.middlewares.use(
        createProviderMiddleware(DEV_ORIGIN, {
          profile: 'authing-like',
          interactions: 'dev',
          accessTokenTtlSeconds: 60,
          redirectUris: [`${DEV_ORIGIN}/callback`, `${DEV_ORIGIN}/`],
          postLogoutRedirectUris: [`${DEV_ORIGIN}/`],
        }),
      )
    },
  }
}

/**
 * The library build must leave `new SharedWorker(new URL('../worker/entry.ts', import.meta.url), …)`
 * to the app's bundler: Vite would bundle the worker itself, as a classic script at an absolute
 * path. The expression is hidden from Vite's worker plugin, then written back pointing at the
 * built entry `./refresh-worker.js` (a sibling of every chunk), where the app's Vite or webpack 5
 * finds it and bundles the worker with the app.
 */
function refreshWorkerForTheApp(): Plugin {
  const source = "new URL('../worker/entry.ts', import.meta.url)"
  const built = "new URL('./refresh-worker.js', import.meta.url)"
  // As long as the expression, so every line and column (and the source map) stays where it was.
  const marker = '__SPA_AUTH_REFRESH_WORKER_URL__'.padEnd(source.length, '_')
  return {
    name: 'spa-auth:refresh-worker-url',
    apply: 'build',
    enforce: 'pre',
    transform(code, id) {
      if (!/[\\/]src[\\/]platform[\\/]environment\.ts$/.test(id) || !code.includes(source)) return null
      return { code: code.replace(source, marker), map: null }
    },
    renderChunk(code) {
      return code.includes(marker) ? { code: code.replace(marker, built), map: null } : null
    },
  }
}

export default defineConfig({
  plugins: [embeddedProvider(), refreshWorkerForTheApp()],
  server: { host: '127.0.0.1', port: 5173, strictPort: true },
  // The dev server serves the playground only: the dependency scan starts from its page, not from
  // every HTML file under the root (the Chromium test app imports 'spa-auth' as a consumer does and
  // is built on its own, see test/browser/support/app-server.ts).
  optimizeDeps: { entries: ['index.html'] },
  define: {
    __DEV_ISSUER__: JSON.stringify(`${DEV_ORIGIN}/oidc`),
  },
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
    testTimeout: 15_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/browser/**', 'test/examples/**'] },
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
      {
        extends: true,
        test: {
          name: 'browser',
          environment: 'node',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
})

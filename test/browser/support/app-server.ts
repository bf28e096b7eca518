/**
 * Builds the library exactly as it is published (Vite library mode, the repository's
 * vite.config.ts → index.js), bundles the small test app in test/browser/app against that
 * build, and serves the result from a static server on http://localhost:<port>.
 */
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'

const REPO = fileURLToPath(new URL('../../../', import.meta.url))
const APP_ROOT = fileURLToPath(new URL('../app/', import.meta.url))
/** Where `npm pack` takes the built package from. */
export const DIST = join(REPO, 'dist')
/** Where the library and the test app are built. */
const BUILDS = join(REPO, 'node_modules', '.cache', 'spa-auth-browser')

export interface TestApp {
  /** e.g. http://localhost:43121 */
  origin: string
  close(): Promise<void>
}

/**
 * Builds the library with the repository's own Vite configuration into `outDir` (dist/ by
 * default), for `npm pack` or for the browser suites' app (see {@link buildTestApp}).
 */
export async function buildLibrary(outDir = DIST): Promise<void> {
  await build({
    root: REPO,
    configFile: join(REPO, 'vite.config.ts'),
    mode: 'production',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  })
}

/**
 * Bundles the test app into `outDir` against the library built in `libraryDir`: its index.js is
 * what `import 'spa-auth'` resolves to for a consumer (the `exports` entry of package.json).
 */
export async function buildApp(outDir: string, libraryDir: string): Promise<void> {
  await build({
    configFile: false,
    root: APP_ROOT,
    mode: 'production',
    logLevel: 'warn',
    resolve: { alias: { 'spa-auth': join(libraryDir, 'index.js') } },
    build: { outDir, emptyOutDir: true, target: 'es2022', minify: false, sourcemap: true, reportCompressedSize: false },
  })
}

/**
 * Builds the library and the test app against it into a directory of their own; resolves the
 * app's directory and the removal of both. The browser suites' global setup does it once per run
 * (see build-once.ts): every suite serves the same files, read-only.
 */
export async function buildTestApp(): Promise<{ appDir: string; remove(): Promise<void> }> {
  // Inside the repository, so the built library's own imports (oauth4webapi, idb-keyval) resolve
  // from its node_modules when the app is bundled.
  await mkdir(BUILDS, { recursive: true })
  const outDir = await mkdtemp(join(BUILDS, 'app-'))
  const remove = () => rm(outDir, { recursive: true, force: true })
  try {
    await buildLibrary(join(outDir, 'library'))
    await buildApp(join(outDir, 'app'), join(outDir, 'library'))
    return { appDir: join(outDir, 'app'), remove }
  } catch (error) {
    await remove()
    throw error
  }
}

/** How the app is served, beyond its files. */
export interface ServeOptions {
  /** Hears each request's path (without query) and whether a file answered it (else index.html did). */
  onRequest?(path: string, found: boolean): void
  /** More response headers for the request of `path` (a Content-Security-Policy, say). */
  headers?(path: string): Record<string, string> | undefined
}

/** Serves the test app this run built (build-once.ts) on a port of its own; call once per test file. */
export async function startTestApp(options: Pick<ServeOptions, 'headers'> = {}): Promise<TestApp> {
  // Imported here: the bench serves its builds with this module, outside Vitest.
  const { inject } = await import('vitest')
  const server = await serveStatic(inject('testAppDir'), options)
  return { origin: server.origin, close: () => server.close() }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
}

/**
 * A static server for `dir` with an SPA fallback: every path that is not a file serves
 * index.html (so /callback and /orders load the app); see {@link ServeOptions}. Listens on the
 * loopback addresses only, IPv4 and (when the machine has it) IPv6, on one port, so
 * http://localhost works however the browser resolves it.
 */
export async function serveStatic(
  dir: string,
  options: ServeOptions = {},
): Promise<{ origin: string; close(): Promise<void> }> {
  const root = resolve(dir)
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let file = join(root, 'index.html')
    try {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)
      const candidate = resolve(root, `.${path}`)
      const found =
        candidate.startsWith(root + sep) && (await stat(candidate).catch(() => undefined))?.isFile() === true
      options.onRequest?.(path, found)
      if (found) file = candidate
      const body = await readFile(file)
      res.writeHead(200, {
        'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
        ...options.headers?.(path),
      })
      res.end(body)
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
      res.end(String(error))
    }
  }

  for (let attempt = 0; ; attempt++) {
    const servers: Server[] = []
    const listen = (port: number, host: string) =>
      new Promise<Server>((resolveListen, reject) => {
        const server = createServer((req, res) => void handler(req, res))
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          servers.push(server)
          resolveListen(server)
        })
      })
    const closeAll = () =>
      Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((done) => {
              server.close(() => done())
              server.closeAllConnections()
            }),
        ),
      ).then(() => undefined)

    const { port } = (await listen(0, '127.0.0.1')).address() as AddressInfo
    try {
      await listen(port, '::1')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE' && attempt < 5) {
        await closeAll()
        continue // someone holds this port on IPv6: pick another one
      }
      if (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT') {
        await closeAll()
        throw error
      }
    }
    for (const server of servers) server.unref()
    return { origin: `http://localhost:${port}`, close: closeAll }
  }
}

/**
 * The bench apps as users build them: this repository packed with `npm pack`, installed with the
 * peers into one fresh project in a temporary folder (offline, from the npm cache, see
 * test/browser/frameworks/fresh-project.ts), and one Vite app per library in it — an index.html
 * whose module script starts that library's bench client — built for production with Vite's
 * defaults. Source maps are written beside the files without a reference in them (`'hidden'`),
 * so the emitted JavaScript is byte for byte what a default build emits, and a plugin records
 * the chunk graph Vite's bundler produced, for the pages and for each worker it bundled, and the
 * scripts the page's build copied without bundling them (spa-auth's refresh service worker).
 */
import { copyFile, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { build, type Plugin } from 'vite'
import { createProject, type PackedLibrary } from '../browser/frameworks/fresh-project.js'
import type { BenchLibrary, LibraryId } from './libraries.js'

const run = promisify(execFile)
const REPO = fileURLToPath(new URL('../../', import.meta.url))
const BENCH = fileURLToPath(new URL('./', import.meta.url))

/** One JavaScript file of a build, as the bundler describes it. */
export interface BuiltChunk {
  /** Relative to the served folder, e.g. `assets/index-7tDoh1NX.js`. */
  file: string
  /** The build's entry (the page's module script, the worker's script). */
  entry: boolean
  /** Files it imports statically: fetched before it runs. */
  imports: string[]
  /** Files it loads with `import()`. */
  dynamicImports: string[]
  /** The bundler's own modules in it (no source map names them), e.g. `vite/preload-helper.js`. */
  virtualModules: string[]
}

/**
 * A script the page's build copied as an asset instead of bundling it, as Vite does with a file that
 * `new URL('./x.js', import.meta.url)` names outside a worker constructor: in no chunk graph.
 */
export interface CopiedScript {
  /** Relative to the served folder, e.g. `assets/refresh-service-worker-Bq3xY1aZ.js`. */
  file: string
  /** The absolute paths of the files it was copied from. */
  from: string[]
}

/** A library's bench app, built. */
export interface AppBuild {
  library: LibraryId
  /** The app project the app was built in: its node_modules hold the installed packages. */
  projectDir: string
  /** What is served: index.html, the page's chunks, the workers' files, their source maps. */
  outDir: string
  /** The page's JavaScript, entry first. */
  page: BuiltChunk[]
  /** Each worker Vite bundled on its own (spa-auth's refresh worker), its files entry first. */
  workers: BuiltChunk[][]
  /** The JavaScript files the page's build copied as they were, not bundled. */
  copied: CopiedScript[]
}

/** The packed package and the apps built from it. */
export interface BenchApps {
  /** The project every app was built in. */
  projectDir: string
  packed: Pick<PackedLibrary, 'filename' | 'size' | 'unpackedSize'>
  builds: Map<LibraryId, AppBuild>
  /** Milliseconds per stage: library build and pack, npm ci, the Vite builds. */
  timings: Record<string, number>
}

/**
 * Runs Vite builds as `vite build` or `npm run build` from a shell does: with NODE_ENV production.
 * The process may have another (Vite's module runner, which loads the bench, sets development;
 * Vitest sets test), and Vite then makes a build that is not a production build:
 * `process.env.NODE_ENV` and `import.meta.env.PROD` would read as in development.
 */
async function asProduction<T>(build: () => Promise<T>): Promise<T> {
  const before = process.env['NODE_ENV']
  process.env['NODE_ENV'] = 'production'
  try {
    return await build()
  } finally {
    if (before === undefined) delete process.env['NODE_ENV']
    else process.env['NODE_ENV'] = before
  }
}

/** Throws from the build unless Vite resolved a production build (what `isProduction` says). */
function productionOnly(what: string): Plugin {
  return {
    name: 'spa-auth-bench:production-only',
    configResolved(config) {
      if (!config.isProduction) {
        throw new Error(`${what}: not a production build, NODE_ENV is ${process.env['NODE_ENV']} (mode ${config.mode})`)
      }
    },
  }
}

/**
 * Builds the library with the repository's vite.config.ts into a staging copy of the package
 * (package.json, README.md, dist/), so that a `dist/` other tests build at the same time is
 * left alone, and packs that with `npm pack`. The declarations (tsc) are left out: they change
 * nothing an app's bundler emits, and take longer than everything else here.
 */
async function packLibrary(work: string): Promise<PackedLibrary> {
  const staged = join(work, 'package')
  await asProduction(() =>
    build({
      root: REPO,
      configFile: join(REPO, 'vite.config.ts'),
      mode: 'production',
      logLevel: 'warn',
      plugins: [productionOnly('the library')],
      build: { outDir: join(staged, 'dist'), emptyOutDir: true },
    }),
  )
  for (const file of ['package.json', 'README.md']) await copyFile(join(REPO, file), join(staged, file))
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
    cwd: staged,
  })
  const [report] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<
    Omit<PackedLibrary, 'tarball' | 'files'> & { files: Array<{ path: string }> }
  >
  if (!report) throw new Error(`npm pack printed no report: ${stdout}`)
  return { ...report, tarball: join(work, report.filename), files: report.files.map((file) => file.path) }
}

const INDEX_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <link rel="icon" href="data:," />
    <title>bench</title>
  </head>
  <body>
    <script type="module" src="/src/main.ts"></script>
  </body>
</html>
`

/** The app's files for one library: index.html, its entry, the bench client and the page harness. */
async function appFiles(library: BenchLibrary): Promise<Record<string, string>> {
  const read = (path: string) => readFile(join(BENCH, path), 'utf8')
  return {
    [`${library.id}/index.html`]: INDEX_HTML,
    [`${library.id}/src/main.ts`]:
      `import { createBenchClient } from './clients/${library.client}'\n` +
      `import { startBenchPage } from './app/harness.ts'\n\nstartBenchPage(createBenchClient)\n`,
    [`${library.id}/src/clients/${library.client}`]: await read(`clients/${library.client}`),
    [`${library.id}/src/clients/bench-client.ts`]: await read('clients/bench-client.ts'),
    [`${library.id}/src/app/harness.ts`]: await read('app/harness.ts'),
  }
}

/** Records the chunk graph of a build (the page's, or a worker's) as the bundler hands it over. */
function chunkRecorder(onBundle: (chunks: BuiltChunk[]) => void): Plugin {
  return {
    name: 'spa-auth-bench:chunk-recorder',
    generateBundle(_options, bundle) {
      const chunks: BuiltChunk[] = []
      for (const output of Object.values(bundle)) {
        if (output.type !== 'chunk') continue
        const { fileName, isEntry, imports, dynamicImports, modules } = output
        chunks.push({
          file: fileName,
          entry: isEntry,
          imports: [...imports],
          dynamicImports: [...dynamicImports],
          virtualModules: Object.keys(modules)
            .filter((id) => id.startsWith('\0'))
            .map((id) => id.slice(1)),
        })
      }
      onBundle(chunks.sort((a, b) => Number(b.entry) - Number(a.entry)))
    },
  }
}

/** Records the JavaScript assets of the page's build: scripts it copied rather than bundled. */
function copiedScriptRecorder(root: string, onBundle: (copied: CopiedScript[]) => void): Plugin {
  return {
    name: 'spa-auth-bench:copied-script-recorder',
    generateBundle(_options, bundle) {
      const copied: CopiedScript[] = []
      for (const output of Object.values(bundle)) {
        // A worker Vite bundled is emitted as an asset too, but from no file of its own.
        if (output.type !== 'asset' || !output.fileName.endsWith('.js') || output.originalFileNames.length === 0)
          continue
        // Vite names an asset's original file relative to the app's root.
        copied.push({ file: output.fileName, from: output.originalFileNames.map((name) => resolve(root, name)) })
      }
      onBundle(copied)
    },
  }
}

async function buildApp(projectDir: string, library: BenchLibrary, outDir: string): Promise<AppBuild> {
  let page: BuiltChunk[] | undefined
  let copied: CopiedScript[] = []
  const workers: BuiltChunk[][] = []
  const root = join(projectDir, library.id)
  await build({
    configFile: false,
    root,
    mode: 'production',
    logLevel: 'warn',
    plugins: [
      productionOnly(`${library.id}'s app`),
      chunkRecorder((chunks) => (page = chunks)),
      copiedScriptRecorder(root, (scripts) => (copied = scripts)),
    ],
    worker: { plugins: () => [chunkRecorder((chunks) => workers.push(chunks))] },
    build: { outDir, emptyOutDir: true, sourcemap: 'hidden', reportCompressedSize: false },
  })
  if (page === undefined) throw new Error(`${library.id}: the Vite build reported no chunks`)
  const entries = page.filter((chunk) => chunk.entry)
  if (entries.length !== 1) throw new Error(`${library.id}: the Vite build has ${entries.length} entries, not 1`)
  // One list per worker script, should Vite bundle one more than once (once per chunk naming it).
  const distinct = workers.filter(
    (files, index) => workers.findIndex((other) => other[0]?.file === files[0]?.file) === index,
  )
  return {
    library: library.id,
    projectDir,
    outDir,
    page,
    workers: distinct,
    copied,
  }
}

/**
 * Packs this repository, installs it and the peers into one fresh project under `work`, and builds
 * the app of each library into `work/out-<id>`.
 */
export async function buildBenchApps(libraries: readonly BenchLibrary[], work: string): Promise<BenchApps> {
  const timings: Record<string, number> = {}
  let step = performance.now()
  const lap = (label: string) => {
    timings[label] = Math.round(performance.now() - step)
    step = performance.now()
  }
  const packed = await packLibrary(work)
  lap('library build and npm pack')
  const projectDir = join(work, 'app')
  const files: Record<string, string> = {}
  for (const library of libraries) Object.assign(files, await appFiles(library))
  const packages = libraries.flatMap((library) => (library.package === undefined ? [] : [library.package]))
  await createProject(projectDir, packed, packages, files)
  lap('npm ci of the app project')
  const built = await asProduction(() =>
    Promise.all(libraries.map((library) => buildApp(projectDir, library, join(work, `out-${library.id}`)))),
  )
  lap('vite build of the apps')
  return {
    projectDir,
    packed: { filename: packed.filename, size: packed.size, unpackedSize: packed.unpackedSize },
    builds: new Map(built.map((app) => [app.library, app])),
    timings,
  }
}

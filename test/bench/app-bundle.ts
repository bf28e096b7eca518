/**
 * The bytes of a library's Vite app build, gzip -9 per emitted file: every JavaScript file with
 * what is in it (modules by size, from the build's source maps, see source-map-cost.ts), and the
 * groups the budgets read — the first load (the page's entry and every chunk it imports
 * statically, transitively: what the bundler's chunk graph says a page load fetches), every page
 * chunk (all features), and the refresh worker (each worker's script and its static imports). The
 * refresh service worker is in no chunk graph: the build copies the package's file as it is, and
 * it is measured as that one file. The default job is not read from the graph: it is what Chromium
 * fetched while the app did the job (see job-fetches.ts), grouped here with {@link groupOf}.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { ChunkGroup } from './bundle-size.js'
import { assertModulesExist, MODULE_TABLE, type BenchLibrary } from './libraries.js'
import { SourceMapCosts, type ModuleCost } from './source-map-cost.js'
import type { AppBuild, BuiltChunk } from './vite-app.js'

/** One JavaScript file of the app build. */
export interface AppChunk {
  /** Relative to the served folder, e.g. `assets/index-7tDoh1NX.js`. */
  file: string
  /** Whether the page's build emitted it, or a worker's. */
  build: 'page' | 'worker'
  /** Its build's entry: the page's module script, or a worker's script. */
  entry: boolean
  rawBytes: number
  /** gzip -9 of this file alone, as a server sends it. */
  gzipBytes: number
  /** Files it imports statically (fetched with it). */
  imports: string[]
  /** Files it loads with `import()`. */
  dynamicImports: string[]
  /** The bundler's own modules in it, which no source map names (their bytes are `(unmapped)`). */
  virtualModules: string[]
  /** Minified bytes per source module, largest first; they add up to `rawBytes`. */
  modules: ModuleCost[]
}

/** The refresh service worker as the app build serves it: the package's file, copied byte for byte. */
export interface CopiedServiceWorker {
  /** Relative to the served folder, e.g. `assets/refresh-service-worker-Bq3xY1aZ.js`. */
  file: string
  /** The file it is a copy of, relative to the package, e.g. `dist/refresh-service-worker.js`. */
  shipped: string
  rawBytes: number
  /** gzip -9 of the file, as a server sends it. */
  gzipBytes: number
  /**
   * Minified bytes per source module, largest first, from the source map the package ships beside
   * the file; absent when it ships none (then nothing tells what is in it).
   */
  modules?: ModuleCost[]
}

/** A page chunk that carries a feature the default job does not use. */
export interface FeatureChunks {
  /** The module named in the library's table, e.g. `src/protocol/dpop.ts`. */
  module: string
  /** What turns it on, e.g. `dpop: true`. */
  use: string
  /** The page chunks carrying it. */
  files: string[]
}

export interface AppBundle {
  /** The page's chunks (entry first), then the workers' files. */
  chunks: AppChunk[]
  /** The page's entry and every chunk it imports statically, transitively. */
  firstLoad: ChunkGroup
  /** Every chunk of the page's build: the app with every feature it may load. */
  allPage: ChunkGroup
  /** Every worker's script and its static imports; absent when the build has no worker. */
  worker?: ChunkGroup
  /** For a library shipping one: its refresh service worker, which is not among `chunks`. */
  serviceWorker?: CopiedServiceWorker
  /** For a library with a module table: the chunks of each feature the job does not use. */
  features: FeatureChunks[]
}

const REPO = fileURLToPath(new URL('../../', import.meta.url))
/** This repository's package, which the apps install packed (its library has no `package`). */
const OWN_PACKAGE = 'spa-auth'

const gzip = (bytes: Uint8Array) => gzipSync(bytes, { level: 9 }).byteLength

/** `starts` and every file they import statically, transitively, in the order met. */
function withStatics(graph: ReadonlyMap<string, BuiltChunk>, starts: readonly string[]): string[] {
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const next of graph.get(file)?.imports ?? []) visit(next)
  }
  starts.forEach(visit)
  return [...seen]
}

/** The sizes of `files` of the build in `outDir`, fetched together. */
export async function groupOf(
  outDir: string,
  chunks: readonly AppChunk[],
  files: readonly string[],
): Promise<ChunkGroup> {
  const parts = await Promise.all(files.map((file) => readFile(join(outDir, file))))
  const gzipOf = (file: string) => {
    const chunk = chunks.find((candidate) => candidate.file === file)
    if (chunk === undefined) throw new Error(`${file} is not a JavaScript file of this build`)
    return chunk.gzipBytes
  }
  return {
    files: [...files],
    rawBytes: parts.reduce((sum, part) => sum + part.byteLength, 0),
    gzipBytes: files.reduce((sum, file) => sum + gzipOf(file), 0),
    oneFileGzipBytes: gzip(Buffer.concat(parts.flatMap((part) => [part, Buffer.from('\n')]))),
  }
}

async function measureChunk(build: AppBuild, costs: SourceMapCosts, chunk: BuiltChunk, kind: AppChunk['build']) {
  const path = join(build.outDir, chunk.file)
  const bytes = await readFile(path)
  const map = existsSync(`${path}.map`) ? `${path}.map` : undefined
  return {
    ...chunk,
    build: kind,
    rawBytes: bytes.byteLength,
    gzipBytes: gzip(bytes),
    modules: await costs.costs(bytes.toString('utf8'), map),
  } satisfies AppChunk
}

/**
 * The library's refresh service worker in `build`, if the library ships one; throws when the build
 * copied no such file, or changed it on the way.
 */
async function copiedServiceWorker(
  library: BenchLibrary,
  build: AppBuild,
  costs: SourceMapCosts,
): Promise<CopiedServiceWorker | undefined> {
  const shipped = library.modules?.serviceWorker
  if (shipped === undefined) return undefined
  const source = join(build.projectDir, 'node_modules', library.package ?? OWN_PACKAGE, shipped)
  const copy = build.copied.find((script) => script.from.includes(source))
  if (copy === undefined) {
    throw new Error(
      `${MODULE_TABLE} names ${shipped} as the refresh service worker, but the Vite app build copied no such file ` +
        `(it copied ${build.copied.map((script) => script.file).join(', ') || 'no script'})`,
    )
  }
  const [bytes, original] = await Promise.all([readFile(join(build.outDir, copy.file)), readFile(source)])
  if (!bytes.equals(original)) throw new Error(`${copy.file} is not ${shipped} as the package ships it`)
  const map = `${source}.map`
  return {
    file: copy.file,
    shipped,
    rawBytes: bytes.byteLength,
    gzipBytes: gzip(bytes),
    ...(existsSync(map) ? { modules: await costs.costs(bytes.toString('utf8'), map) } : {}),
  }
}

/** The page chunks carrying each feature module of the library's table; throws for a module no chunk carries. */
export function featureChunks(library: BenchLibrary, page: readonly AppChunk[]): FeatureChunks[] {
  const features = library.modules?.features ?? {}
  assertModulesExist(features)
  const found = Object.entries(features).map(([module, use]) => ({
    module,
    use,
    files: page.filter((chunk) => chunk.modules.some((cost) => cost.path === module)).map((chunk) => chunk.file),
  }))
  const absent = found.filter((feature) => feature.files.length === 0)
  if (absent.length > 0) {
    throw new Error(
      `${MODULE_TABLE} names ${absent.map((feature) => `${feature.module} (${feature.use})`).join(', ')}, but no chunk ` +
        'of the Vite app build carries it: point the table at the modules that do this now',
    )
  }
  return found
}

/** Reads the source maps of the apps of the project in `projectDir`: shared, it reads each package's maps once. */
export const sourceMapReader = (projectDir: string) =>
  new SourceMapCosts({ root: projectDir, ownPackage: OWN_PACKAGE, ownSources: REPO })

/** Measures every JavaScript file of `build` (what is in it, read by `costs`) and the groups read from its chunk graph. */
export async function measureAppBundle(
  library: BenchLibrary,
  build: AppBuild,
  costs: SourceMapCosts = sourceMapReader(build.projectDir),
): Promise<AppBundle> {
  const page = await Promise.all(build.page.map((chunk) => measureChunk(build, costs, chunk, 'page')))
  const workerFiles = build.workers.flat()
  const workers = await Promise.all(workerFiles.map((chunk) => measureChunk(build, costs, chunk, 'worker')))
  const chunks = [...page, ...workers]

  const pageGraph = new Map(build.page.map((chunk) => [chunk.file, chunk]))
  const entry = build.page.find((chunk) => chunk.entry)!
  const firstLoad = withStatics(pageGraph, [entry.file])
  const workerStart = build.workers.flatMap((files) =>
    withStatics(new Map(files.map((chunk) => [chunk.file, chunk])), [files.find((chunk) => chunk.entry)!.file]),
  )
  const ordered = [...firstLoad, ...page.map((chunk) => chunk.file).filter((file) => !firstLoad.includes(file))]
  const serviceWorker = await copiedServiceWorker(library, build, costs)
  return {
    chunks: [...ordered.map((file) => page.find((chunk) => chunk.file === file)!), ...workers],
    firstLoad: await groupOf(build.outDir, chunks, firstLoad),
    allPage: await groupOf(build.outDir, chunks, ordered),
    ...(workerStart.length === 0 ? {} : { worker: await groupOf(build.outDir, chunks, workerStart) }),
    ...(serviceWorker === undefined ? {} : { serviceWorker }),
    features: featureChunks(library, page),
  }
}

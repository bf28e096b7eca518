/**
 * The second row: a bench client bundled with esbuild from src/, as an esbuild user's app would
 * be — for the browser, minified, every dependency inlined, code splitting on (ESM), so each
 * `import()` of the library becomes a chunk — and its bytes: every chunk (raw, gzip, what each
 * input module costs, from esbuild's metafile), what a page load fetches (the entry and its static
 * imports), and what the default job fetches (the first load and the chunks of the `import()`s the
 * library's module table places in the job). esbuild puts every module a lazy chunk shares with
 * the entry into a chunk of its own, so its first load is several files where Vite's is one. No
 * budget holds for this row; the browser measures run the Vite app build (vite-app.ts).
 */
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build, type BuildOptions, type Metafile, type OutputFile } from 'esbuild'
import { assertModulesExist, MODULE_TABLE } from './libraries.js'
import type { ModuleCost } from './source-map-cost.js'

export type { ModuleCost } from './source-map-cost.js'

const REPO = fileURLToPath(new URL('../../', import.meta.url))
/** Where esbuild would write (nothing is written: `write: false`); output names are relative to it. */
const OUT = 'bench-out'

const BROWSER: BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  write: false,
  logLevel: 'silent',
  absWorkingDir: REPO,
}

const SPLIT: BuildOptions = { ...BROWSER, splitting: true, outdir: OUT }

/** One file of a split build. */
export interface Chunk {
  file: string
  rawBytes: number
  /** gzip -9 of this file alone, as a server sends it. */
  gzipBytes: number
  /** The module whose `import()` loads this chunk; absent for the entry and for shared chunks. */
  loads?: string
  /** Chunks this one imports statically (fetched with it). */
  imports: string[]
  /** Chunks this one loads with `import()`. */
  dynamicImports: string[]
  /** Largest first. */
  modules: ModuleCost[]
}

/** Files fetched together. */
export interface ChunkGroup {
  files: string[]
  rawBytes: number
  /** The sum of each file's own gzip size: what goes over the wire. */
  gzipBytes: number
  /** gzip of the files concatenated, for comparison with a build that would put them in one file. */
  oneFileGzipBytes: number
}

/** A feature the default job does not use, and the chunks it would add to the job's. */
export interface Feature extends ChunkGroup {
  /** The module its `import()` loads, e.g. `src/popup.ts`. */
  module: string
  /** What turns it on, e.g. `signInWithPopup()`. */
  use: string
}

/** Which `import()` targets of a library a job loads, and which belong to features it does not use. */
export interface SplitSpec {
  /** Module → the step that loads it, for every `import()` the default job reaches. */
  job: Record<string, string>
  /** Module → what turns it on, for every other `import()`. */
  features: Record<string, string>
}

export interface SplitBundle {
  /** In load order: the first load, the rest of the job, then the features'. */
  chunks: Chunk[]
  /** The entry and every chunk it imports statically, transitively: what a page load fetches. */
  firstLoad: ChunkGroup
  /** The first load and everything the job's `import()`s fetch: what the job ever fetches. */
  job: ChunkGroup
  /** The job's `import()`s, in the order the spec names them. */
  jobLoads: { module: string; step: string }[]
  features: Feature[]
}

export interface BundleSize extends SplitBundle {
  /** The same client as one bundle without splitting, as earlier runs measured it. */
  eager: { rawBytes: number; gzipBytes: number; modules: ModuleCost[] }
}

const gzip = (bytes: Uint8Array) => gzipSync(bytes, { level: 9 }).byteLength

/** Packages by their name, wherever node_modules is (a worktree may link to another checkout's). */
const modulePath = (path: string) => relative(REPO, join(REPO, path)).replace(/^.*\bnode_modules\//, 'node_modules/')

function costs(inputs: Metafile['outputs'][string]['inputs']): ModuleCost[] {
  return Object.entries(inputs)
    .map(([path, { bytesInOutput }]) => ({ path: modulePath(path), bytes: bytesInOutput }))
    .filter((module) => module.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes)
}

/** Bundles `entry` (with everything it imports) as one file, no splitting, and measures it. */
export async function measureEagerBundle(entry: string): Promise<BundleSize['eager']> {
  const result = await build({ ...BROWSER, entryPoints: [entry], outfile: 'bundle.js', metafile: true })
  const output = result.outputFiles?.[0]
  if (!output) throw new Error(`esbuild produced no output for ${entry}`)
  return {
    rawBytes: output.contents.byteLength,
    gzipBytes: gzip(output.contents),
    modules: costs(Object.values(result.metafile.outputs)[0]?.inputs ?? {}),
  }
}

/**
 * Bundles `entry` with code splitting and sorts its chunks into the first load, the job and the
 * features of `split`. Without a spec (a library with no `import()`s of its own) the job is every
 * chunk. An `import()` the spec does not name fails the measure: a new split must be placed.
 */
export async function measureSplitBundle(
  entry: string,
  split?: SplitSpec,
  { everyModuleLoaded = true }: { everyModuleLoaded?: boolean } = {},
): Promise<SplitBundle> {
  if (split !== undefined) assertModulesExist({ ...split.job, ...split.features })
  const result = await build({ ...SPLIT, metafile: true, entryPoints: [entry] })
  const contents = new Map<string, Uint8Array>(
    (result.outputFiles ?? []).map((file: OutputFile) => [relative(join(REPO, OUT), file.path), file.contents]),
  )
  const chunks = new Map<string, Chunk>()
  let entryFile: string | undefined
  for (const [path, output] of Object.entries(result.metafile.outputs)) {
    const file = relative(OUT, path)
    const bytes = contents.get(file)
    if (!bytes) throw new Error(`esbuild listed ${file} but produced no such file`)
    const importsOf = (kind: string) =>
      output.imports.filter((item) => item.kind === kind && !item.external).map((item) => relative(OUT, item.path))
    const source = output.entryPoint === undefined ? undefined : modulePath(output.entryPoint)
    if (source !== undefined && source === modulePath(relative(REPO, entry))) entryFile = file
    chunks.set(file, {
      file,
      rawBytes: bytes.byteLength,
      gzipBytes: gzip(bytes),
      ...(source === undefined || file === entryFile ? {} : { loads: source }),
      imports: importsOf('import-statement'),
      dynamicImports: importsOf('dynamic-import'),
      modules: costs(output.inputs),
    })
  }
  if (entryFile === undefined) throw new Error(`esbuild produced no entry chunk for ${entry}`)

  const withStatics = (starts: string[]): string[] => {
    const seen = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      for (const next of chunks.get(file)!.imports) visit(next)
    }
    starts.forEach(visit)
    return [...seen]
  }
  const targets = [...chunks.values()].filter((chunk) => chunk.loads !== undefined)
  const unplaced = targets.filter(
    (chunk) => split !== undefined && !(chunk.loads! in split.job) && !(chunk.loads! in split.features),
  )
  if (unplaced.length > 0) {
    throw new Error(
      `import() of ${unplaced.map((chunk) => chunk.loads).join(', ')} is neither in the job nor a feature: place it in ${MODULE_TABLE}`,
    )
  }
  const loaded = new Set(targets.map((chunk) => chunk.loads))
  const placed = everyModuleLoaded ? Object.keys({ ...split?.job, ...split?.features }) : []
  const stale = placed.filter((module) => !loaded.has(module))
  if (stale.length > 0) {
    throw new Error(
      `${MODULE_TABLE} places ${stale.join(', ')}, which no import() loads any more (esbuild made no chunk for it): ` +
        'point the table at the modules that are loaded with import() now',
    )
  }
  const inJob = (chunk: Chunk) => split === undefined || chunk.loads! in split.job
  const firstLoad = withStatics([entryFile])
  const job = withStatics([entryFile, ...targets.filter(inJob).map((chunk) => chunk.file)])
  const features = targets
    .filter((chunk) => !inJob(chunk))
    .map((chunk) => ({
      module: chunk.loads!,
      use: split!.features[chunk.loads!]!,
      ...group(withStatics([chunk.file]).filter((file) => !job.includes(file))),
    }))
  const order = [...new Set([...job, ...features.flatMap((feature) => feature.files), ...chunks.keys()])]

  function group(files: string[]): ChunkGroup {
    const parts = files.map((file) => contents.get(file)!)
    return {
      files,
      rawBytes: parts.reduce((sum, part) => sum + part.byteLength, 0),
      gzipBytes: files.reduce((sum, file) => sum + chunks.get(file)!.gzipBytes, 0),
      oneFileGzipBytes: gzip(Buffer.concat(parts.flatMap((part) => [part, Buffer.from('\n')]))),
    }
  }

  return {
    chunks: order.map((file) => chunks.get(file)!),
    firstLoad: group(firstLoad),
    job: group(job),
    jobLoads: Object.entries(split?.job ?? {}).map(([module, step]) => ({ module, step })),
    features,
  }
}

/** Measures a bench client: split as an app ships it, and as one eager bundle. */
export async function measureBundle(entry: string, split?: SplitSpec): Promise<BundleSize> {
  const [measured, eager] = await Promise.all([measureSplitBundle(entry, split), measureEagerBundle(entry)])
  return { ...measured, eager }
}

/**
 * Bundles a bench client the way an app ships it — esbuild, for the browser, minified, every
 * dependency inlined, code splitting on (ESM), so each `import()` of the library becomes a chunk
 * the browser fetches when that code first runs — and measures the bytes: every chunk (raw, gzip,
 * what each input module costs), what a page load fetches, and what the library's whole default
 * job ever fetches. The same bundler builds the pages the browser measures load, so the code
 * measured for size is the code that runs.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build, type BuildOptions, type Metafile, type OutputFile, type Plugin } from 'esbuild'

const REPO = fileURLToPath(new URL('../../', import.meta.url))
const HARNESS = fileURLToPath(new URL('./app/harness.ts', import.meta.url))
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

/** Bytes one input module leaves in the minified output. */
export interface ModuleCost {
  /** Relative to the repository, e.g. `src/session.ts` or `node_modules/oauth4webapi/build/index.js`. */
  path: string
  bytes: number
}

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
export async function measureSplitBundle(entry: string, split?: SplitSpec): Promise<SplitBundle> {
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
      `import() of ${unplaced.map((chunk) => chunk.loads).join(', ')} is neither in the job nor a feature: place it in test/bench/libraries.ts`,
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
    jobLoads: Object.entries(split?.job ?? {})
      .filter(([module]) => targets.some((chunk) => chunk.loads === module))
      .map(([module, step]) => ({ module, step })),
    features,
  }
}

/** Measures a bench client: split as an app ships it, and as one eager bundle. */
export async function measureBundle(entry: string, split?: SplitSpec): Promise<BundleSize> {
  const [measured, eager] = await Promise.all([measureSplitBundle(entry, split), measureEagerBundle(entry)])
  return { ...measured, eager }
}

/**
 * What an app's bundler does with `new SharedWorker(new URL('./entry.ts', import.meta.url), …)`
 * (Vite and webpack 5 bundle the worker on their own; esbuild leaves the expression alone): the
 * page points at `refresh-worker.js`, which {@link buildBenchPage} writes beside the chunks.
 */
function refreshWorkerBesideTheChunks(): Plugin {
  const source = "new URL('./entry.ts', import.meta.url)"
  return {
    name: 'refresh-worker-beside-the-chunks',
    setup(build) {
      build.onLoad({ filter: /[\\/]src[\\/]worker[\\/]page\.ts$/ }, async ({ path }) => {
        const code = await readFile(path, 'utf8')
        if (!code.includes(source)) throw new Error(`${path} no longer names its refresh worker as ${source}`)
        return { contents: code.replace(source, "new URL('./refresh-worker.js', import.meta.url)"), loader: 'ts' }
      })
    },
  }
}

/**
 * Writes a page for the browser measures into `outDir`: index.html, app.js (the bench client
 * `adapter` started by the page harness, see app/harness.ts) and every chunk beside it, the
 * page-load chunks announced with `<link rel="modulepreload">` as Vite does. With `worker`, the
 * library's refresh worker is bundled on its own as `refresh-worker.js` (its chunks prefixed).
 */
export async function buildBenchPage(adapter: string, outDir: string, worker?: string): Promise<void> {
  const page = await build({
    ...SPLIT,
    metafile: true,
    stdin: {
      contents: `import { createBenchClient } from ${JSON.stringify(adapter)}\nimport { startBenchPage } from ${JSON.stringify(HARNESS)}\nstartBenchPage(createBenchClient)\n`,
      resolveDir: REPO,
      sourcefile: 'bench-page.ts',
      loader: 'ts',
    },
    entryNames: 'app',
    plugins: worker === undefined ? [] : [refreshWorkerBesideTheChunks()],
  })
  const workerBuild =
    worker === undefined
      ? undefined
      : await build({
          ...SPLIT,
          entryPoints: [worker],
          entryNames: 'refresh-worker',
          chunkNames: 'refresh-worker-[name]-[hash]',
        })
  // Every chunk app.js imports statically, transitively: the browser fetches them all before it runs.
  const preloads = new Set<string>()
  const visit = (output: string) => {
    for (const item of page.metafile.outputs[output]?.imports ?? []) {
      if (item.kind !== 'import-statement' || preloads.has(item.path)) continue
      preloads.add(item.path)
      visit(item.path)
    }
  }
  visit(`${OUT}/app.js`)
  const links = [...preloads].map((path) => `<link rel="modulepreload" href="/${relative(OUT, path)}">`)
  await mkdir(outDir, { recursive: true })
  for (const file of [...(page.outputFiles ?? []), ...(workerBuild?.outputFiles ?? [])]) {
    await writeFile(join(outDir, relative(join(REPO, OUT), file.path)), file.contents)
  }
  await writeFile(
    join(outDir, 'index.html'),
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench</title><link rel="icon" href="data:,">' +
      `${links.join('')}</head><body><script type="module" src="/app.js"></script></body></html>`,
  )
}

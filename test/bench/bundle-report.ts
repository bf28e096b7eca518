/**
 * How byte counts read, and the esbuild row in words: for a library split by need the list of its
 * chunks (what each carries, by the esbuild metafile), what a page load and the whole default job
 * fetch, what the features the job does not use would add, its worker, and the eager bundle.
 */
import type { Chunk, ChunkGroup, ModuleCost, SplitBundle } from './bundle-size.js'
import type { LibraryReport } from './report.js'

export const bytes = (n: number) => `${n.toLocaleString('en-US')} B`
export const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`
/** `n` bytes with KiB, e.g. `10,528 B (10.3 KiB)`. */
export const size = (n: number) => `${bytes(n)} (${kib(n)})`

/** `src/session/session.ts 3,253, src/client.ts 2,536, …`: the modules of a chunk, largest first. */
export function inputs(modules: readonly ModuleCost[], limit = Infinity): string {
  const shown = modules.slice(0, limit).map((module) => `${module.path} ${module.bytes.toLocaleString('en-US')}`)
  return modules.length > limit ? `${shown.join(', ')}, … (${modules.length - limit} more)` : shown.join(', ')
}

/** Minified bytes per package (`src` for our own modules), largest first. */
export function byPackage(modules: readonly ModuleCost[]): [string, number][] {
  const sums = new Map<string, number>()
  for (const module of modules) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(module.path)?.[1] ?? module.path.split('/')[0]!
    sums.set(name, (sums.get(name) ?? 0) + module.bytes)
  }
  return [...sums].sort((a, b) => b[1] - a[1])
}

/** The modules of the chunks in `group`. */
export const modulesOf = (bundle: SplitBundle, group: ChunkGroup): ModuleCost[] =>
  bundle.chunks.filter((chunk) => group.files.includes(chunk.file)).flatMap((chunk) => chunk.modules)

const files = (n: number) => `${n} file${n === 1 ? '' : 's'}`

/** `7 files, 26,888 B min, 10,528 B gzip (sum of the files), 9,873 B gzip as one file`. */
export function groupSummary(group: ChunkGroup): string {
  return (
    `${files(group.files.length)}, ${bytes(group.rawBytes)} min, ${size(group.gzipBytes)} gzip (sum of the files), ` +
    `${bytes(group.oneFileGzipBytes)} gzip as one file`
  )
}

function roleOf(bundle: SplitBundle, chunk: Chunk, start: string): { role: string; uses: string[] } {
  if (bundle.firstLoad.files.includes(chunk.file)) return { role: start, uses: [] }
  if (bundle.job.files.includes(chunk.file)) return { role: 'job', uses: [] }
  const uses = bundle.features.filter((feature) => feature.files.includes(chunk.file)).map((feature) => feature.use)
  return { role: uses.length > 0 ? 'not in job' : 'never loaded', uses }
}

/**
 * One line per chunk (role, file, sizes, which `import()` loads it), its inputs on the next; `start`
 * names the chunks loaded at once.
 */
function chunkLines(bundle: SplitBundle, indent: string, start = 'first load'): string[] {
  const rows = bundle.chunks.map((chunk) => ({ chunk, ...roleOf(bundle, chunk, start) }))
  const roleWidth = Math.max(...rows.map((row) => row.role.length))
  const fileWidth = Math.max(...rows.map((row) => row.chunk.file.length))
  return rows.flatMap(({ role, uses, chunk }) => {
    const loaded = [
      chunk.loads === undefined ? '' : `import() of ${chunk.loads}`,
      uses.length > 0 ? `for ${uses.join(' / ')}` : '',
    ].filter(Boolean)
    return [
      `${indent}${role.padEnd(roleWidth)}  ${chunk.file.padEnd(fileWidth)} ${bytes(chunk.rawBytes).padStart(9)} min ${bytes(chunk.gzipBytes).padStart(8)} gzip  ${loaded.join(', ')}`.trimEnd(),
      `${indent}  ${inputs(chunk.modules)}`,
    ]
  })
}

/** The chunk list, the first load, the job, the features, the worker and the eager bundle of `library`. */
export function bundleLines(library: LibraryReport): string[] {
  if (!library.esbuild.ok)
    return [`${library.label}: the esbuild split could not be measured (${library.esbuild.error}).`]
  const bundle = library.esbuild.value
  const out = [
    `${library.label}, every chunk (esbuild, code splitting, minified; gzip -9 of each file; inputs in minified bytes, largest first, from the esbuild metafile):`,
    ...chunkLines(bundle, '  '),
    '',
    `${library.label}, what is fetched:`,
    `  first load (the entry and every chunk it imports statically): ${groupSummary(bundle.firstLoad)}`,
    `  default job (redirect sign-in, callback, refresh, sign-out): ${groupSummary(bundle.job)}; the first load and the import()s of`,
    ...bundle.jobLoads.map((load) => `    ${load.module}: ${load.step}`),
    `    job by package, minified: ${byPackage(modulesOf(bundle, bundle.job))
      .map(([name, n]) => `${name} ${bytes(n)}`)
      .join(', ')}`,
  ]
  if (bundle.features.length > 0) {
    out.push(
      '  features not in the job (what each would add to it):',
      ...bundle.features.map(
        (feature) =>
          `    ${feature.use} (import() of ${feature.module}): ${feature.files.length === 0 ? 'nothing' : groupSummary(feature)}`,
      ),
    )
  }
  out.push(...workerLines(library))
  out.push(
    `  everything eager (one bundle, no splitting: the measure of earlier runs): ${bytes(bundle.eager.rawBytes)} min, ${size(bundle.eager.gzipBytes)} gzip`,
  )
  return out
}

function workerLines(library: LibraryReport): string[] {
  if (library.esbuildWorker === undefined) return []
  if (!library.esbuildWorker.ok) return [`  refresh worker: could not be measured (${library.esbuildWorker.error})`]
  const worker = library.esbuildWorker.value
  return [
    `  refresh worker, bundled by esbuild on its own (the worker fetches it, not the page, so it is not added to the job): ${groupSummary(worker.firstLoad)}`,
    ...chunkLines(worker, '    ', 'at start'),
  ]
}

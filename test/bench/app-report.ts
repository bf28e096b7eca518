/**
 * A library's Vite app build in words: every JavaScript file with where it is loaded (first load,
 * which step of the job first fetched it, the feature it carries, the worker, the service worker
 * the build copied) and what is in it, then the job step by step as Chromium fetched it.
 */
import type { AppBundle, AppChunk, CopiedServiceWorker } from './app-bundle.js'
import { byPackage, bytes, inputs } from './bundle-report.js'
import type { AppJob } from './job-fetches.js'
import { alignedTable, copiedSum, sum, type LibraryReport } from './report.js'
import { UNMAPPED } from './source-map-cost.js'

/** The modules of a chunk, largest first; the unmapped bytes with the bundler's modules that are among them. */
function contents(chunk: AppChunk, limit?: number): string {
  const text = inputs(chunk.modules, limit)
  return chunk.virtualModules.length === 0
    ? text
    : text.replace(UNMAPPED, `(unmapped: ${chunk.virtualModules.join(', ')} and glue)`)
}

/** Where a file of the build is loaded. */
function roleOf(chunk: AppChunk, app: AppBundle, job: AppJob | undefined): string {
  if (chunk.build === 'worker') {
    const fetched = job?.workerFetches.filter((pass) => pass.files.includes(chunk.file)).map((pass) => pass.pass)
    const where =
      fetched === undefined
        ? ''
        : fetched.length > 0
          ? `; fetched in: ${fetched.join(', ')}`
          : '; not fetched in the job'
    return `${chunk.entry ? 'worker script' : 'worker chunk'}${app.worker?.files.includes(chunk.file) ? ', at its start' : ''}${where}`
  }
  if (app.firstLoad.files.includes(chunk.file)) return chunk.entry ? 'first load (the page’s entry)' : 'first load'
  const step = job?.byStep.find((item) => item.files.includes(chunk.file))
  if (step) return `job: ${step.step}`
  const uses = app.features.filter((feature) => feature.files.includes(chunk.file)).map((feature) => feature.use)
  return uses.length > 0 ? `not in the job: ${uses.join(' / ')}` : 'not in the job'
}

/** The copied service worker as a row of the file listings: file, where it is loaded, min, gzip, contents. */
function serviceWorkerRow(script: CopiedServiceWorker, limit?: number): string[] {
  return [
    script.file,
    `refresh service worker: ${script.shipped} copied as shipped, not bundled`,
    bytes(script.rawBytes),
    bytes(script.gzipBytes),
    script.modules ? inputs(script.modules, limit) : 'not known: the package ships no source map beside it',
  ]
}

const jobOf = (library: LibraryReport) => (library.job.ok ? library.job.value : undefined)

/** One line of figures for the build: first load, job, every page chunk, worker, service worker. */
export function appSummary(library: LibraryReport): string {
  if (!library.app.ok) return `${library.label}: the Vite app build could not be measured: ${library.app.error}`
  const app = library.app.value
  const job = library.job.ok ? sum(library.job.value) : `not measured (${library.job.error})`
  return (
    `First load ${sum(app.firstLoad)}; default job ${job}; every page chunk ${sum(app.allPage)}` +
    (app.worker ? `; refresh worker ${sum(app.worker)}` : '; no worker') +
    (app.serviceWorker ? `; refresh service worker (copied as shipped) ${copiedSum(app.serviceWorker)}` : '') +
    '.'
  )
}

/** Every file of the build as a Markdown table (all its modules), for the full report. */
export function appChunkTable(library: LibraryReport): string[] {
  if (!library.app.ok) return [appSummary(library)]
  const app = library.app.value
  const job = jobOf(library)
  const rows = app.chunks.map((chunk) => [
    `\`${chunk.file}\``,
    roleOf(chunk, app, job),
    bytes(chunk.rawBytes),
    bytes(chunk.gzipBytes),
    contents(chunk),
  ])
  if (app.serviceWorker) {
    const [file, ...cells] = serviceWorkerRow(app.serviceWorker)
    rows.push([`\`${file}\``, ...cells])
  }
  return alignedTable(
    ['file', 'loaded', 'min', 'gzip', 'what is in it (minified bytes per module, largest first)'],
    rows,
    [2, 3],
  )
}

/** The job step by step as Chromium fetched it, and what the job is made of by package. */
export function jobLines(library: LibraryReport): string[] {
  if (!library.job.ok) return [`The default job could not be recorded: ${library.job.error}`]
  const job = library.job.value
  const chunks = library.app.ok ? library.app.value.chunks : []
  const passes = job.passes.map((pass) => pass.name).join('; ')
  return [
    `Recorded in ${job.passes.length === 1 ? 'one pass' : `${job.passes.length} passes`} (${passes}); page chunks first fetched in each step:`,
    '',
    ...job.byStep.map(
      (step) =>
        `- ${step.step}: ${step.files.length === 0 ? 'nothing new' : step.files.map((file) => `\`${file}\``).join(', ')}`,
    ),
    ...job.workerFetches.map(
      (pass) =>
        `- worker files, ${pass.pass}: ${pass.files.length === 0 ? 'none' : pass.files.map((file) => `\`${file}\``).join(', ')}`,
    ),
    '',
    `The job by package, minified: ${byPackage(
      chunks.filter((chunk) => job.files.includes(chunk.file)).flatMap((chunk) => chunk.modules),
    )
      .map(([name, n]) => `${name} ${bytes(n)}`)
      .join(', ')}.`,
  ]
}

/** spa-auth's files in a few lines for the terminal: role, sizes, the largest modules. */
export function appChunkLines(library: LibraryReport): string[] {
  if (!library.app.ok) return [appSummary(library)]
  const app = library.app.value
  const job = jobOf(library)
  const rows = app.chunks.map((chunk) => [
    chunk.file,
    roleOf(chunk, app, job),
    bytes(chunk.rawBytes),
    bytes(chunk.gzipBytes),
    contents(chunk, 6),
  ])
  if (app.serviceWorker) rows.push(serviceWorkerRow(app.serviceWorker, 6))
  const width = Math.max(...rows.map(([file]) => file!.length))
  return [
    `${library.label}, Vite app build: ${appSummary(library)}`,
    ...rows.flatMap(([file, role, min, gzip, what]) => [
      `  ${file!.padEnd(width)} ${min!.padStart(9)} min ${gzip!.padStart(8)} gzip  ${role}`,
      `    ${what}`,
    ]),
  ]
}

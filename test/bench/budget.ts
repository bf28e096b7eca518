/**
 * The performance promises the benchmark checks, as budget lines over spa-auth's Vite app build:
 * the first load (in one file), the default job, every page chunk with all features, the refresh
 * worker and the refresh service worker, and the warm start against oidc-client-ts's in the same
 * run. Each passes or fails loudly; a failure says by how much and which chunks and modules take
 * the most, as far as the source maps tell.
 */
import { byPackage, bytes, inputs, size } from './bundle-report.js'
import type { CopiedServiceWorker } from './app-bundle.js'
import type { ChunkGroup, ModuleCost } from './bundle-size.js'
import type { LibraryId } from './libraries.js'
import type { BenchReport, LibraryReport } from './report.js'

export interface BudgetSettings {
  /** The first load, gzip, sum of its files (8 KiB)… */
  budgetFirstLoadGzipBytes: number
  /** …in at most this many files (1). */
  budgetFirstLoadFiles: number
  /** Everything the default job fetches, gzip (20 KiB). */
  budgetJobGzipBytes: number
  /** Every chunk of the page's build, all features, gzip (26 KiB). */
  budgetAllChunksGzipBytes: number
  /** A refresh worker, gzip (16 KiB): the SharedWorker's script and its static imports; the service worker's script. */
  budgetWorkerGzipBytes: number
  /** The median warm start over oidc-client-ts's, same run (1.00). */
  budgetWarmStartRatio: number
}

/** The budget lines, in the order they are checked and printed. */
export const BUDGET_NAMES = {
  firstLoad: 'first load (Vite app: entry + its static imports), gzip, one file',
  job: 'default job (Vite app: first load + what sign-in, callback, refresh and sign-out fetch), gzip',
  allPage: 'every page chunk, all features (Vite app), gzip',
  worker: 'refresh worker (Vite app), gzip',
  serviceWorker: 'refresh service worker (Vite app, copied as shipped), gzip',
  warmStart: "warm start, median ÷ oidc-client-ts's",
  warmRequests: 'warm start, requests to the provider',
} as const

export interface BudgetCheck {
  /** One of {@link BUDGET_NAMES}. */
  name: string
  library: LibraryId
  /** The measured value, or `null` when it could not be measured. */
  measured: number | null
  limit: number
  unit: 'bytes' | 'ratio' | 'requests'
  pass: boolean
  /** The measured value and the limit as people read them. */
  text: string
  /** By how much it fails, as people read it. */
  over?: string
  /** Why it could not be measured, or, when over, what takes the most. */
  details: string[]
}

export interface BudgetVerdict {
  pass: boolean
  checks: BudgetCheck[]
}

const OURS: LibraryId = 'spa-auth'
const PEER: LibraryId = 'oidc-client-ts'

/** A chunk as the budget reads it: its file, its gzip bytes, its modules. */
interface SizedChunk {
  file: string
  gzipBytes: number
  modules: ModuleCost[]
}

const percent = (over: number, limit: number) => `${Math.round((100 * over) / limit)} %`

/** What takes the most of a group over its budget: its largest chunks with their largest modules, and its packages. */
export function dominating(chunks: readonly SizedChunk[], group: ChunkGroup): string[] {
  const members = chunks.filter((chunk) => group.files.includes(chunk.file)).sort((a, b) => b.gzipBytes - a.gzipBytes)
  const share = (n: number) => percent(n, group.gzipBytes)
  return [
    'largest chunks (gzip, share of the group; their largest modules in minified bytes):',
    ...members
      .slice(0, 4)
      .map(
        (chunk) => `  ${chunk.file} ${bytes(chunk.gzipBytes)} (${share(chunk.gzipBytes)}): ${inputs(chunk.modules, 5)}`,
      ),
    `by package, minified: ${byPackage(members.flatMap((chunk) => chunk.modules))
      .map(([name, n]) => `${name} ${bytes(n)}`)
      .join(', ')}`,
  ]
}

const unmeasured = (name: string, limit: number, unit: BudgetCheck['unit'], why: string): BudgetCheck => ({
  name,
  library: OURS,
  measured: null,
  limit,
  unit,
  pass: false,
  text: 'not measured',
  details: [why],
})

const files = (n: number) => `${n} file${n === 1 ? '' : 's'}`

/** A size budget over `group` (and, with `maxFiles`, a number of files). */
function sizeCheck(
  name: string,
  group: ChunkGroup,
  chunks: readonly SizedChunk[],
  limit: number,
  maxFiles?: number,
): BudgetCheck {
  const overBytes = group.gzipBytes - limit
  const overFiles = maxFiles === undefined ? 0 : group.files.length - maxFiles
  const pass = overBytes <= 0 && overFiles <= 0
  const over = [
    overBytes > 0 ? `${bytes(overBytes)} (${percent(overBytes, limit)})` : '',
    overFiles > 0 ? `${files(overFiles)} too many` : '',
  ].filter(Boolean)
  return {
    name,
    library: OURS,
    measured: group.gzipBytes,
    limit,
    unit: 'bytes',
    pass,
    text:
      `${size(group.gzipBytes)} in ${files(group.files.length)}, budget ${size(limit)}` +
      (maxFiles === undefined ? '' : ` in ${files(maxFiles)}`),
    ...(pass ? {} : { over: over.join(' and ') }),
    details: pass ? [] : dominating(chunks, group),
  }
}

/**
 * The refresh service worker's budget: the one file the app build copied. What is in it is only
 * known from a source map the package ships beside it; without one, a failure says so.
 */
function serviceWorkerCheck(script: CopiedServiceWorker, limit: number): BudgetCheck {
  const { file, rawBytes, gzipBytes, modules } = script
  const group: ChunkGroup = { files: [file], rawBytes, gzipBytes, oneFileGzipBytes: gzipBytes }
  const check = sizeCheck(BUDGET_NAMES.serviceWorker, group, modules ? [{ ...script, modules }] : [], limit)
  if (check.pass || modules) return check
  return {
    ...check,
    details: [
      `${script.shipped} ships with no source map beside it, so nothing tells what is in it: ` +
        `${bytes(rawBytes)} minified, ${bytes(gzipBytes)} gzip, one file`,
    ],
  }
}

function sizeChecks(ours: LibraryReport | undefined, settings: BudgetSettings): BudgetCheck[] {
  const why = (outcome: LibraryReport['app'] | LibraryReport['job'] | undefined) =>
    outcome === undefined ? `no ${OURS} in this run` : outcome.ok ? '' : outcome.error
  const app = ours?.app.ok ? ours.app.value : undefined
  const job = ours?.job.ok ? ours.job.value : undefined
  const chunks = app?.chunks ?? []
  return [
    app
      ? sizeCheck(
          BUDGET_NAMES.firstLoad,
          app.firstLoad,
          chunks,
          settings.budgetFirstLoadGzipBytes,
          settings.budgetFirstLoadFiles,
        )
      : unmeasured(BUDGET_NAMES.firstLoad, settings.budgetFirstLoadGzipBytes, 'bytes', why(ours?.app)),
    job
      ? sizeCheck(BUDGET_NAMES.job, job, chunks, settings.budgetJobGzipBytes)
      : unmeasured(BUDGET_NAMES.job, settings.budgetJobGzipBytes, 'bytes', why(ours?.job) || why(ours?.app)),
    app
      ? sizeCheck(BUDGET_NAMES.allPage, app.allPage, chunks, settings.budgetAllChunksGzipBytes)
      : unmeasured(BUDGET_NAMES.allPage, settings.budgetAllChunksGzipBytes, 'bytes', why(ours?.app)),
    app?.worker
      ? sizeCheck(BUDGET_NAMES.worker, app.worker, chunks, settings.budgetWorkerGzipBytes)
      : unmeasured(
          BUDGET_NAMES.worker,
          settings.budgetWorkerGzipBytes,
          'bytes',
          why(ours?.app) || 'the Vite app build has no worker',
        ),
    app?.serviceWorker
      ? serviceWorkerCheck(app.serviceWorker, settings.budgetWorkerGzipBytes)
      : unmeasured(
          BUDGET_NAMES.serviceWorker,
          settings.budgetWorkerGzipBytes,
          'bytes',
          why(ours?.app) || 'the Vite app build has no refresh service worker',
        ),
  ]
}

function warmStartChecks(ours: LibraryReport | undefined, peer: LibraryReport | undefined, limit: number) {
  const oursStart = ours?.startUp.ok ? ours.startUp.value.warmStart : undefined
  const peerStart = peer?.startUp.ok ? peer.startUp.value.warmStart : undefined
  const failures =
    [ours, peer]
      .map((library) => (library?.startUp.ok === false ? `${library.label}: ${library.startUp.error}` : undefined))
      .filter(Boolean)
      .join('; ') || 'a library missing from this run'
  const checks: BudgetCheck[] = []
  if (oursStart && peerStart) {
    const ratio = oursStart.medianMs / peerStart.medianMs
    const pass = ratio <= limit
    checks.push({
      name: BUDGET_NAMES.warmStart,
      library: OURS,
      measured: ratio,
      limit,
      unit: 'ratio',
      pass,
      text: `${ratio.toFixed(2)} (${oursStart.medianMs.toFixed(1)} ms ÷ ${peerStart.medianMs.toFixed(1)} ms), budget ${limit.toFixed(2)}`,
      ...(pass ? {} : { over: `${(ratio - limit).toFixed(2)} (${percent(ratio - limit, limit)})` }),
      details: pass
        ? []
        : [
            `${OURS} reloads: ${oursStart.signedInAtMs.join(', ')} ms; ${PEER}: ${peerStart.signedInAtMs.join(', ')} ms`,
            `last script fetched (median): ${OURS} ${oursStart.scriptsMedianMs.toFixed(1)} ms, ${PEER} ${peerStart.scriptsMedianMs.toFixed(1)} ms`,
          ],
    })
  } else checks.push(unmeasured(BUDGET_NAMES.warmStart, limit, 'ratio', failures))
  if (oursStart) {
    const worst = Math.max(...oursStart.requestsPerRun)
    checks.push({
      name: BUDGET_NAMES.warmRequests,
      library: OURS,
      measured: worst,
      limit: 0,
      unit: 'requests',
      pass: worst === 0,
      text: `${worst} in the worst of ${oursStart.runs} reloads, budget 0`,
      ...(worst === 0 ? {} : { over: `${worst}` }),
      details: worst === 0 ? [] : [`requests per reload: ${oursStart.requestsPerRun.join(', ')}`],
    })
  } else
    checks.push(
      unmeasured(BUDGET_NAMES.warmRequests, 0, 'requests', ours?.startUp.ok === false ? ours.startUp.error : failures),
    )
  return checks
}

/** Checks spa-auth's results against the budgets. */
export function checkBudgets(libraries: readonly LibraryReport[], settings: BudgetSettings): BudgetVerdict {
  const ours = libraries.find((library) => library.id === OURS)
  const peer = libraries.find((library) => library.id === PEER)
  const checks = [...sizeChecks(ours, settings), ...warmStartChecks(ours, peer, settings.budgetWarmStartRatio)]
  return { pass: checks.every((item) => item.pass), checks }
}

/** One line per budget; a failure framed in `!` with by how much and what takes the most under it. */
export function budgetLines(report: Pick<BenchReport, 'budget'>): string[] {
  const bar = '!'.repeat(100)
  const out: string[] = []
  for (const item of report.budget.checks) {
    const line = `${item.library} ${item.name}: ${item.text}`
    if (item.pass) {
      out.push(`Budget PASS: ${line}.`)
      continue
    }
    const over = item.over === undefined ? '' : `: over by ${item.over}`
    out.push(bar, `!! BUDGET FAIL: ${line}${over}.`, ...item.details.map((detail) => `!!   ${detail}`), bar)
  }
  if (!report.budget.pass) out.push('`npm run bench -- --strict` exits 1 on a failed budget.')
  return out
}

/**
 * The performance promises that the benchmark can check, as budget lines: spa-auth's first
 * load and default job in gzip bytes, and its warm start against oidc-client-ts's in the same run.
 * Each passes or fails loudly; a failure says by how much and what dominates.
 */
import { byPackage, bytes, inputs, modulesOf, size } from './bundle-report.js'
import type { ChunkGroup, SplitBundle } from './bundle-size.js'
import type { LibraryId } from './libraries.js'
import type { BenchReport, LibraryReport } from './report.js'

export interface BudgetSettings {
  /** spa-auth's first load, min+gzip, sum of the files (6 KiB). */
  budgetFirstLoadGzipBytes: number
  /** Everything spa-auth's default job loads, min+gzip, sum of the files (16 KiB). */
  budgetJobGzipBytes: number
  /** spa-auth's median warm start over oidc-client-ts's, same run (0.9). */
  budgetWarmStartRatio: number
}

export interface BudgetCheck {
  /** What is checked, e.g. `first load, min+gzip`. */
  name: string
  library: LibraryId
  /** The measured value, or `null` when it could not be measured. */
  measured: number | null
  limit: number
  unit: 'bytes' | 'ratio' | 'requests'
  pass: boolean
  /** The measured value and the limit as people read them. */
  text: string
  /** Why it could not be measured, or, when over, what dominates. */
  details: string[]
}

export interface BudgetVerdict {
  pass: boolean
  checks: BudgetCheck[]
}

const OURS: LibraryId = 'spa-auth'
const PEER: LibraryId = 'oidc-client-ts'

function check(
  name: string,
  [measured, limit, unit]: [number | null, number, BudgetCheck['unit']],
  text: (measured: number) => string,
  details: (measured: number) => string[],
  unmeasured: string,
): BudgetCheck {
  const base = { name, library: OURS, measured, limit, unit }
  if (measured === null) return { ...base, pass: false, text: 'not measured', details: [unmeasured] }
  const pass = measured <= limit
  return { ...base, pass, text: text(measured), details: pass ? [] : details(measured) }
}

/** What takes the most of a group over its budget: its largest chunks, and its packages. */
function dominating(bundle: SplitBundle, group: ChunkGroup): string[] {
  const chunks = bundle.chunks
    .filter((chunk) => group.files.includes(chunk.file))
    .sort((a, b) => b.gzipBytes - a.gzipBytes)
  const share = (n: number) => `${Math.round((100 * n) / group.gzipBytes)} %`
  return [
    'largest chunks (gzip, share of the group; inputs in minified bytes):',
    ...chunks
      .slice(0, 4)
      .map(
        (chunk) => `  ${chunk.file} ${bytes(chunk.gzipBytes)} (${share(chunk.gzipBytes)}): ${inputs(chunk.modules, 4)}`,
      ),
    `by package, minified: ${byPackage(modulesOf(bundle, group))
      .map(([name, n]) => `${name} ${bytes(n)}`)
      .join(', ')}`,
  ]
}

function bundleCheck(
  library: LibraryReport | undefined,
  name: string,
  which: 'firstLoad' | 'job',
  limit: number,
): BudgetCheck {
  const bundle = library?.bundle.ok ? library.bundle.value : undefined
  const group = bundle?.[which]
  return check(
    name,
    [group?.gzipBytes ?? null, limit, 'bytes'],
    (measured) =>
      `${size(measured)} (sum of ${group!.files.length} files; ${bytes(group!.oneFileGzipBytes)} as one file), budget ${size(limit)}`,
    () => dominating(bundle!, group!),
    library?.bundle.ok === false ? library.bundle.error : 'no spa-auth bundle in this run',
  )
}

/** Checks spa-auth's results against the budgets. */
export function checkBudgets(libraries: readonly LibraryReport[], settings: BudgetSettings): BudgetVerdict {
  const ours = libraries.find((library) => library.id === OURS)
  const peer = libraries.find((library) => library.id === PEER)
  const oursStart = ours?.startUp.ok ? ours.startUp.value.warmStart : undefined
  const peerStart = peer?.startUp.ok ? peer.startUp.value.warmStart : undefined
  const ratio = oursStart && peerStart ? oursStart.medianMs / peerStart.medianMs : null
  const requests = oursStart ? Math.max(...oursStart.requestsPerRun) : null
  const checks = [
    bundleCheck(ours, 'first load, min+gzip', 'firstLoad', settings.budgetFirstLoadGzipBytes),
    bundleCheck(ours, 'default job, min+gzip', 'job', settings.budgetJobGzipBytes),
    check(
      `warm start, median ÷ ${PEER}'s`,
      [ratio, settings.budgetWarmStartRatio, 'ratio'],
      (measured) =>
        `${measured.toFixed(2)} (${oursStart!.medianMs.toFixed(1)} ms ÷ ${peerStart!.medianMs.toFixed(1)} ms), budget ${settings.budgetWarmStartRatio.toFixed(2)}`,
      () => [
        `${OURS} reloads: ${oursStart!.signedInAtMs.join(', ')} ms; ${PEER}: ${peerStart!.signedInAtMs.join(', ')} ms`,
      ],
      [ours, peer]
        .map((library) => (library?.startUp.ok === false ? `${library.label}: ${library.startUp.error}` : undefined))
        .filter(Boolean)
        .join('; ') || 'a library missing from this run',
    ),
    check(
      'warm start, requests to the provider',
      [requests, 0, 'requests'],
      (measured) => `${measured} in the worst of ${oursStart!.runs} reloads, budget 0`,
      () => [`requests per reload: ${oursStart!.requestsPerRun.join(', ')}`],
      ours?.startUp.ok === false ? ours.startUp.error : 'no spa-auth warm start in this run',
    ),
  ]
  return { pass: checks.every((item) => item.pass), checks }
}

function excess({ measured, limit, unit }: BudgetCheck): string {
  const percent = `${Math.round((100 * (measured! - limit)) / limit)} %`
  return unit === 'bytes'
    ? `${bytes(measured! - limit)} (${percent})`
    : `${(measured! - limit).toFixed(2)} (${percent})`
}

/** One line per budget; a failure framed in `!` with what dominates under it. */
export function budgetLines(report: Pick<BenchReport, 'budget'>): string[] {
  const bar = '!'.repeat(100)
  const out: string[] = []
  for (const item of report.budget.checks) {
    const line = `${item.library} ${item.name}: ${item.text}`
    if (item.pass) {
      out.push(`Budget PASS: ${line}.`)
      continue
    }
    const over = item.measured === null || item.unit === 'requests' ? '' : `: over by ${excess(item)}`
    out.push(bar, `!! BUDGET FAIL: ${line}${over}.`, ...item.details.map((detail) => `!!   ${detail}`), bar)
  }
  if (!report.budget.pass) out.push('`npm run bench -- --strict` exits 1 on a failed budget.')
  return out
}

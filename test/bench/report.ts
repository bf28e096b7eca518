/**
 * What one run of the benchmark found, as JSON and as the table of every measure: one row per
 * measure, one column per library, a footnote wherever a number needs its reason.
 */
import type { AppBundle, CopiedServiceWorker } from './app-bundle.js'
import type { BudgetSettings, BudgetVerdict } from './budget.js'
import { size } from './bundle-report.js'
import type { BundleSize, ChunkGroup, SplitBundle } from './bundle-size.js'
import type { AppJob, JobSettings } from './job-fetches.js'
import type { LibraryId } from './libraries.js'
import type { RefreshResult, RefreshSettings } from './refresh-economy.js'
import type { RequestKind } from './stage.js'
import type { RequestTally, StartUpResult, StartUpSettings } from './start-up.js'

/** How a run is configured: its measures' settings and the budgets. */
export interface BenchSettings extends StartUpSettings, RefreshSettings, BudgetSettings, JobSettings {
  /**
   * The smoke run (`--quick`): tiny settings, and the timed start-up measures run alongside the
   * others instead of alone, so its times mean nothing; it shows that every measure still works.
   */
  quick: boolean
}

/** A measure that ran, or why it could not. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string }

export interface LibraryReport {
  id: LibraryId
  label: string
  setup: string
  tokenGetter: string
  /** The library's Vite app build, from the packed package: every file, the first load, every page chunk, the worker. */
  app: Outcome<AppBundle>
  /** What the default job fetched in Chromium, in that build. */
  job: Outcome<AppJob>
  /** The second row: the bench client bundled by esbuild (spa-auth from src/). */
  esbuild: Outcome<BundleSize>
  /** spa-auth's refresh worker bundled by esbuild on its own. */
  esbuildWorker?: Outcome<SplitBundle>
  startUp: Outcome<StartUpResult>
  refresh: Outcome<RefreshResult>
}

export interface BenchReport {
  startedAt: string
  durationSeconds: number
  /** The commit measured (`git describe --always --dirty`), when git can tell. */
  commit: string
  machine: { node: string; chromium: string; vite: string; cpus: number; cpuModel: string; os: string }
  settings: BenchSettings
  /** The tarball the apps installed; `null` when packing failed. */
  packed: { filename: string; size: number; unpackedSize: number } | null
  /** Milliseconds per stage of the run. */
  timings: Record<string, number>
  budget: BudgetVerdict
  libraries: LibraryReport[]
}

export const ROWS = [
  'Vite app: first load (entry + static imports), gzip',
  'Vite app: default job, gzip',
  'Vite app: every page chunk, all features, gzip',
  'Vite app: refresh worker, gzip',
  'Vite app: refresh service worker (copied as shipped), gzip',
  'esbuild split: first load, gzip',
  'esbuild split: default job, gzip',
  'esbuild, everything eager in one file, gzip',
  'warm start: requests to the provider',
  'warm start: reload → signed in (median)',
  'warm start: median ÷ oidc-client-ts median',
  'warm start: reload → last script fetched (median)',
  'token getter, valid token (calls/s)',
  'refresh requests per lifetime, 1 idle tab',
  'refresh requests per lifetime, 3 idle tabs',
  '3 tabs × N calls after expiry: refresh requests',
  'sessions lost',
  'sign-in: requests to the provider',
] as const
export type RowName = (typeof ROWS)[number]

interface Cell {
  text: string
  note?: string
}

const KIND_ORDER: RequestKind[] = ['redirect', 'token', 'discovery', 'jwks', 'userinfo', 'preflight', 'other']
const KIND_LABEL: Record<RequestKind, string> = {
  redirect: 'authorize/interaction',
  token: 'token',
  discovery: 'discovery',
  jwks: 'jwks',
  userinfo: 'userinfo',
  preflight: 'CORS preflight',
  other: 'other',
}

function requests(tally: RequestTally): string {
  const parts = KIND_ORDER.filter((kind) => tally.byKind[kind]).map(
    (kind) => `${KIND_LABEL[kind]} ${tally.byKind[kind]}`,
  )
  return parts.length === 0 ? `${tally.total}` : `${tally.total} (${parts.join(', ')})`
}

function rate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M`
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k`
  return perSecond.toFixed(0)
}

const NO_WORKER = 'No worker file in its Vite app build.'

/** A group's gzip size, and its number of files. */
export const sum = (group: ChunkGroup) =>
  `${size(group.gzipBytes)}, ${group.files.length} file${group.files.length === 1 ? '' : 's'}`

/** The copied service worker's gzip size, as {@link sum} reads a group. */
export const copiedSum = (script: CopiedServiceWorker) => `${size(script.gzipBytes)}, 1 file`

/** Why a number reads the way it does, for the one library and row it belongs to. */
function noteFor(library: LibraryReport, row: RowName): string | undefined {
  const refresh = library.refresh.ok ? library.refresh.value : undefined
  if (library.id === 'auth0-spa-js') {
    if (
      (row === 'refresh requests per lifetime, 1 idle tab' || row === 'refresh requests per lifetime, 3 idle tabs') &&
      refresh
    ) {
      return 'auth0-spa-js has no renewal timer: it renews inside getTokenSilently(), once the cached token has less than 60 s left (a fixed margin), so idle tabs send nothing and hold an expired token until the app asks.'
    }
  }
  if (library.id === 'oidc-client-ts') {
    if (row === 'token getter, valid token (calls/s)' || row === '3 tabs × N calls after expiry: refresh requests') {
      return `oidc-client-ts has no "get a valid token" call; the getter is ${library.tokenGetter}.`
    }
  }
  return undefined
}

function cellFor(library: LibraryReport, row: RowName, peer: LibraryReport | undefined): Cell {
  const failed = (outcome: Outcome<unknown>): Cell | undefined =>
    outcome.ok ? undefined : { text: 'not measured', note: outcome.error }
  switch (row) {
    case 'Vite app: first load (entry + static imports), gzip':
    case 'Vite app: default job, gzip':
    case 'Vite app: every page chunk, all features, gzip':
    case 'Vite app: refresh worker, gzip':
    case 'Vite app: refresh service worker (copied as shipped), gzip': {
      if (row === 'Vite app: default job, gzip') {
        if (!library.app.ok) return failed(library.app)!
        return library.job.ok ? { text: sum(library.job.value) } : failed(library.job)!
      }
      if (!library.app.ok) return failed(library.app)!
      const app = library.app.value
      if (row === 'Vite app: first load (entry + static imports), gzip') return { text: sum(app.firstLoad) }
      if (row === 'Vite app: every page chunk, all features, gzip') return { text: sum(app.allPage) }
      if (row === 'Vite app: refresh worker, gzip')
        return app.worker ? { text: sum(app.worker) } : { text: '–', note: NO_WORKER }
      return app.serviceWorker ? { text: copiedSum(app.serviceWorker) } : { text: '–', note: NO_WORKER }
    }
    case 'esbuild split: first load, gzip':
    case 'esbuild split: default job, gzip':
    case 'esbuild, everything eager in one file, gzip': {
      if (!library.esbuild.ok) return failed(library.esbuild)!
      const bundle = library.esbuild.value
      if (row === 'esbuild split: first load, gzip') return { text: sum(bundle.firstLoad) }
      if (row === 'esbuild split: default job, gzip') return { text: sum(bundle.job) }
      return { text: size(bundle.eager.gzipBytes) }
    }
    case 'warm start: requests to the provider':
    case 'warm start: reload → signed in (median)':
    case 'warm start: median ÷ oidc-client-ts median':
    case 'warm start: reload → last script fetched (median)':
    case 'token getter, valid token (calls/s)':
    case 'sign-in: requests to the provider': {
      if (!library.startUp.ok) return failed(library.startUp)!
      const { signIn, warmStart, hotPath } = library.startUp.value
      if (row === 'warm start: requests to the provider') {
        const worst = Math.max(...warmStart.requestsPerRun)
        return {
          text: `${requests(warmStart.requests)}${worst > warmStart.requests.total ? `, ${worst} at worst` : ''}`,
        }
      }
      if (row === 'warm start: median ÷ oidc-client-ts median') {
        if (!peer?.startUp.ok) return { text: 'not measured', note: 'oidc-client-ts has no warm start in this run.' }
        return { text: (warmStart.medianMs / peer.startUp.value.warmStart.medianMs).toFixed(2) }
      }
      if (row === 'warm start: reload → signed in (median)') return { text: `${warmStart.medianMs.toFixed(1)} ms` }
      if (row === 'warm start: reload → last script fetched (median)')
        return { text: `${warmStart.scriptsMedianMs.toFixed(1)} ms` }
      if (row === 'token getter, valid token (calls/s)') return { text: rate(hotPath.medianCallsPerSecond) }
      return { text: requests(signIn) }
    }
    default: {
      if (!library.refresh.ok) return failed(library.refresh)!
      const refresh = library.refresh.value
      if (row === 'refresh requests per lifetime, 1 idle tab' || row === 'refresh requests per lifetime, 3 idle tabs') {
        const idle = row === 'refresh requests per lifetime, 1 idle tab' ? refresh.idleOneTab : refresh.idleThreeTabs
        return { text: `${idle.perLifetime.toFixed(1)} (${idle.refreshRequests} in ${idle.windowSeconds} s)` }
      }
      if (row === '3 tabs × N calls after expiry: refresh requests') {
        const { refreshRequests, distinctTokens, failedCalls, tabs, callersPerTab } = refresh.burst
        const failures = failedCalls > 0 ? `, ${failedCalls} of ${tabs * callersPerTab} calls failed` : ''
        return {
          text: `${refreshRequests} (${distinctTokens} distinct token${distinctTokens === 1 ? '' : 's'}${failures})`,
        }
      }
      const { tabs, lost } = refresh.sessions
      const grants = refresh.invalidGrants > 0 ? `, invalid_grant ×${refresh.invalidGrants}` : ''
      return { text: `${lost} of ${tabs} tabs${grants}` }
    }
  }
}

/**
 * The table of every measure (Markdown, aligned), then its footnotes: `[n]` in a cell points at
 * the n-th note.
 */
export function measuresTable(report: BenchReport): string[] {
  const notes: string[] = []
  const peer = report.libraries.find((library) => library.id === 'oidc-client-ts')
  const header = ['measure', ...report.libraries.map((library) => library.label)]
  const body = ROWS.map((row) => [
    row.replace('N calls', `${report.settings.burstCallers} calls`),
    ...report.libraries.map((library) => {
      const cell = cellFor(library, row, peer)
      const note = cell.note ?? noteFor(library, row)
      if (note === undefined) return cell.text
      let index = notes.indexOf(note)
      if (index === -1) index = notes.push(note) - 1
      return `${cell.text} [${index + 1}]`
    }),
  ])
  const out = alignedTable(header, body)
  if (notes.length > 0) out.push('', ...notes.map((note, index) => `[${index + 1}] ${note.replaceAll('\n', ' ')}`))
  return out
}

/** A Markdown table with its columns padded to one width; `right` columns are numbers. */
export function alignedTable(header: string[], body: string[][], right: readonly number[] = []): string[] {
  const widths = header.map((_, column) => Math.max(3, ...[header, ...body].map((line) => line[column]!.length)))
  const pad = (cell: string, column: number) =>
    right.includes(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)
  const line = (cells: string[]) => `| ${cells.map(pad).join(' | ')} |`
  const rule = widths.map((width, column) =>
    right.includes(column) ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2),
  )
  return [line(header), `|${rule.join('|')}|`, ...body.map(line)]
}

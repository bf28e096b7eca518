/**
 * What one run of the benchmark found, as JSON and as the table people read: one row per
 * measure, one column per library, a footnote wherever a number needs its reason.
 */
import { budgetLines, type BudgetVerdict } from './budget.js'
import { bundleLines, bytes, size } from './bundle-report.js'
import type { BundleSize, ChunkGroup, SplitBundle } from './bundle-size.js'
import type { LibraryId } from './libraries.js'
import type { RefreshResult } from './refresh-economy.js'
import type { RequestKind } from './stage.js'
import type { RequestTally, StartUpResult } from './start-up.js'

/** A measure that ran, or why it could not. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string }

export interface LibraryReport {
  id: LibraryId
  label: string
  setup: string
  tokenGetter: string
  bundle: Outcome<BundleSize>
  /** A worker the library starts by itself (spa-auth's refresh worker), bundled on its own. */
  worker?: Outcome<SplitBundle>
  startUp: Outcome<StartUpResult>
  refresh: Outcome<RefreshResult>
}

export interface BenchReport {
  startedAt: string
  durationSeconds: number
  machine: { node: string; chromium: string; cpus: number; cpuModel: string; os: string }
  settings: Record<string, number>
  budget: BudgetVerdict
  libraries: LibraryReport[]
}

export const ROWS = [
  'bundle, first load, min+gzip',
  'bundle, first load as one file, min+gzip',
  'bundle, default job, min+gzip',
  'bundle, default job as one file, min+gzip',
  'bundle, everything eager, minified',
  'bundle, everything eager, min+gzip',
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
    case 'bundle, first load, min+gzip':
    case 'bundle, first load as one file, min+gzip':
    case 'bundle, default job, min+gzip':
    case 'bundle, default job as one file, min+gzip':
    case 'bundle, everything eager, minified':
    case 'bundle, everything eager, min+gzip': {
      if (!library.bundle.ok) return failed(library.bundle)!
      const bundle = library.bundle.value
      const sum = (group: ChunkGroup) =>
        `${size(group.gzipBytes)}${group.files.length === 1 ? '' : `, ${group.files.length} files`}`
      if (row === 'bundle, first load, min+gzip') return { text: sum(bundle.firstLoad) }
      if (row === 'bundle, first load as one file, min+gzip') return { text: size(bundle.firstLoad.oneFileGzipBytes) }
      if (row === 'bundle, default job, min+gzip') return { text: sum(bundle.job) }
      if (row === 'bundle, default job as one file, min+gzip') return { text: size(bundle.job.oneFileGzipBytes) }
      if (row === 'bundle, everything eager, minified') return { text: bytes(bundle.eager.rawBytes) }
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

/** The table (Markdown, aligned), its footnotes, the setups and the machine, the chunk lists, the budget lines. */
export function formatReport(report: BenchReport): string {
  const notes: string[] = []
  const peer = report.libraries.find((library) => library.id === 'oidc-client-ts')
  const header = ['measure', ...report.libraries.map((library) => library.label)]
  const body = ROWS.map((row) => [
    row.replace('N calls', `${report.settings['burstCallers']} calls`),
    ...report.libraries.map((library) => {
      const cell = cellFor(library, row, peer)
      const note = cell.note ?? noteFor(library, row)
      if (note === undefined) return cell.text
      let index = notes.indexOf(note)
      if (index === -1) index = notes.push(note) - 1
      return `${cell.text} [${index + 1}]`
    }),
  ])
  const widths = header.map((_, column) => Math.max(...[header, ...body].map((line) => line[column]!.length)))
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`
  const out = [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...body.map(line), '']
  notes.forEach((note, index) => out.push(`[${index + 1}] ${note}`))
  if (notes.length > 0) out.push('')

  const { machine, settings } = report
  out.push(
    `Refresh runs: ${settings['tokenLifetimeSeconds']}-s access tokens, rotating refresh tokens with reuse detection (oidc-provider 'strict'), ` +
      `idle windows of ${settings['idleLifetimes']} lifetimes; warm start: median of ${settings['warmStartRuns']} reloads; ` +
      `token getter: median of ${settings['hotPathRounds']} rounds of ${settings['hotPathMs']} ms.`,
  )
  out.push(
    'Bundles: esbuild, browser, minified, every dependency inlined, code splitting (ESM); gzip -9 of each file. ' +
      'First load: the entry and every chunk it imports statically. Default job (redirect sign-in, callback, refresh, sign-out): ' +
      "the first load and every chunk the job's import()s fetch. Everything eager: one bundle without splitting. " +
      'A library with no import() of its own is one file in every row. ' +
      'Pages are served over HTTP/1.1 with cache-control: no-store, so every reload fetches every file of the first load again.',
  )
  for (const library of report.libraries) out.push(`${library.label}: ${library.setup}.`)
  out.push(
    `Machine: Node ${machine.node}, Chromium ${machine.chromium}, ${machine.cpus} cores (${machine.cpuModel}), ${machine.os}; ${report.durationSeconds} s for the whole run.`,
  )
  for (const library of report.libraries) {
    if (library.bundle.ok && library.bundle.value.chunks.length > 1) out.push('', ...bundleLines(library))
  }
  out.push('', ...budgetLines(report))
  return out.join('\n')
}

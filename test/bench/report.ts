/**
 * What one run of the benchmark found, as JSON and as the table people read: one row per
 * measure, one column per library, a footnote wherever a number needs its reason.
 */
import type { BundleSize } from './bundle-size.js'
import type { BenchLibrary, LibraryId } from './libraries.js'
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
  startUp: Outcome<StartUpResult>
  refresh: Outcome<RefreshResult>
}

export interface BenchReport {
  startedAt: string
  durationSeconds: number
  machine: { node: string; chromium: string; cpus: number; cpuModel: string; os: string }
  settings: Record<string, number>
  budget: { library: LibraryId; limitGzipBytes: number; gzipBytes: number | null; pass: boolean }
  libraries: LibraryReport[]
}

export const ROWS = [
  'bundle, minified',
  'bundle, min+gzip',
  'warm start: requests to the provider',
  'warm start: reload → signed in (median)',
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

const bytes = (n: number) => `${n.toLocaleString('en-US')} B`
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`
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

function cellFor(library: LibraryReport, row: RowName): Cell {
  const failed = (outcome: Outcome<unknown>): Cell | undefined =>
    outcome.ok ? undefined : { text: 'not measured', note: outcome.error }
  switch (row) {
    case 'bundle, minified':
      return failed(library.bundle) ?? { text: bytes(library.bundle.ok ? library.bundle.value.rawBytes : 0) }
    case 'bundle, min+gzip':
      return (
        failed(library.bundle) ?? {
          text: library.bundle.ok
            ? `${bytes(library.bundle.value.gzipBytes)} (${kib(library.bundle.value.gzipBytes)})`
            : '',
        }
      )
    case 'warm start: requests to the provider':
    case 'warm start: reload → signed in (median)':
    case 'token getter, valid token (calls/s)':
    case 'sign-in: requests to the provider': {
      if (!library.startUp.ok) return failed(library.startUp)!
      const { signIn, warmStart, hotPath } = library.startUp.value
      if (row === 'warm start: requests to the provider') return { text: requests(warmStart.requests) }
      if (row === 'warm start: reload → signed in (median)') return { text: `${warmStart.medianMs.toFixed(1)} ms` }
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

/** The table (Markdown, aligned), its footnotes, the budget line and the machine. */
export function formatReport(report: BenchReport): string {
  const notes: string[] = []
  const header = ['measure', ...report.libraries.map((library) => library.label)]
  const body = ROWS.map((row) => [
    row.replace('N calls', `${report.settings['burstCallers']} calls`),
    ...report.libraries.map((library) => {
      const cell = cellFor(library, row)
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
  for (const library of report.libraries) out.push(`${library.label}: ${library.setup}.`)
  out.push(
    `Machine: Node ${machine.node}, Chromium ${machine.chromium}, ${machine.cpus} cores (${machine.cpuModel}), ${machine.os}; ${report.durationSeconds} s for the whole run.`,
  )
  out.push('', ...budgetLines(report))
  return out.join('\n')
}

/** The budget verdict; when over, loud, with what each input module costs. */
export function budgetLines(report: BenchReport): string[] {
  const { budget } = report
  const library = report.libraries.find((candidate) => candidate.id === budget.library)
  const limit = `${bytes(budget.limitGzipBytes)} (${kib(budget.limitGzipBytes)})`
  if (budget.gzipBytes === null) {
    return [
      `BUDGET FAIL: the ${budget.library} bundle could not be measured (${library?.bundle.ok === false ? library.bundle.error : 'unknown'}).`,
    ]
  }
  const verdict = `${budget.library} bundle, min+gzip: ${bytes(budget.gzipBytes)} (${kib(budget.gzipBytes)}), budget ${limit}`
  if (budget.pass) return [`Budget PASS: ${verdict}.`, ...breakdownLines(library)]
  const bar = '!'.repeat(100)
  return [
    bar,
    `!! BUDGET FAIL: ${verdict}: over by ${bytes(budget.gzipBytes - budget.limitGzipBytes)}.`,
    '!! What costs what (esbuild metafile, minified bytes per input module) is below; `npm run bench -- --strict` exits 1 on this.',
    bar,
    ...breakdownLines(library),
  ]
}

function breakdownLines(library: LibraryReport | undefined): string[] {
  if (!library?.bundle.ok) return []
  const { modules, rawBytes } = library.bundle.value
  const width = Math.max(...modules.map((module) => module.path.length))
  const share = (n: number) => `${((100 * n) / rawBytes).toFixed(1).padStart(5)} %`
  const byPackage = new Map<string, number>()
  for (const module of modules) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(module.path)?.[1] ?? module.path.split('/')[0]!
    byPackage.set(name, (byPackage.get(name) ?? 0) + module.bytes)
  }
  return [
    `${library.label} bundle, minified bytes per input module (esbuild metafile):`,
    ...modules.map(
      (module) => `  ${module.path.padEnd(width)} ${String(module.bytes).padStart(7)} ${share(module.bytes)}`,
    ),
    `  by package: ${[...byPackage]
      .sort((a, b) => b[1] - a[1])
      .map(([name, n]) => `${name} ${bytes(n)}`)
      .join(', ')}`,
  ]
}

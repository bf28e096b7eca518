// @vitest-environment node
/**
 * `npm run bench` takes minutes and is not part of `npm test`; this runs the same code on a tiny
 * configuration (4-s tokens, one short idle window, few iterations) to show that it still
 * produces every row for every library, the chunk list and every budget line. The numbers of such
 * a run mean nothing.
 */
import { describe, expect, it } from 'vitest'
import { formatReport, QUICK_SETTINGS, runBench } from './bench/bench.js'
import { budgetLines, checkBudgets } from './bench/budget.js'
import { measureSplitBundle, type BundleSize } from './bench/bundle-size.js'
import { LIBRARIES } from './bench/libraries.js'
import { ROWS, type LibraryReport } from './bench/report.js'
import type { StartUpResult } from './bench/start-up.js'
import { skipBrowserSuites } from './browser/support/chromium.js'

const BUDGET_NAMES = [
  'first load, min+gzip',
  'default job, min+gzip',
  "warm start, median ÷ oidc-client-ts's",
  'warm start, requests to the provider',
]

describe.skipIf(skipBrowserSuites)('the benchmark on a tiny configuration', () => {
  it('measures every row for spa-auth, oidc-client-ts and auth0-spa-js in one run', { timeout: 180_000 }, async () => {
    const report = await runBench(QUICK_SETTINGS, { log: () => {} })

    expect(report.libraries.map((library) => library.id)).toEqual(['spa-auth', 'oidc-client-ts', 'auth0-spa-js'])
    const ours = report.libraries[0]!
    for (const outcome of [ours.bundle, ours.worker, ours.startUp, ours.refresh])
      expect(outcome).toMatchObject({ ok: true })
    expect(report.budget.checks.map((check) => check.name)).toEqual(BUDGET_NAMES)

    const table = formatReport(report)
    const lines = table.split('\n')
    for (const row of ROWS) {
      const line = lines.find((candidate) =>
        candidate.startsWith(`| ${row.replace('N calls', `${QUICK_SETTINGS.burstCallers} calls`)}`),
      )
      expect(line, row).toBeDefined()
      const cells = line!
        .split('|')
        .slice(2, -1)
        .map((cell) => cell.trim())
      expect(cells, row).toHaveLength(3)
      // A number, or "not measured" with a footnote that says why.
      for (const cell of cells) expect(cell, row).toMatch(/^(\d|not measured \[\d+\]$)/)
    }
    for (const name of BUDGET_NAMES) {
      expect(lines.some((line) => /^(Budget PASS|!! BUDGET FAIL): spa-auth /.test(line) && line.includes(name))).toBe(
        true,
      )
    }
    for (const part of [
      'every chunk (esbuild, code splitting',
      '  first load (the entry and every chunk it imports statically): ',
      '  default job (redirect sign-in, callback, refresh, sign-out): ',
      '  features not in the job',
      '  refresh worker, its own bundle',
      '  everything eager (one bundle, no splitting',
    ]) {
      expect(table).toContain(part)
    }
    expect(table).toContain(`Chromium ${report.machine.chromium}`)
  })
})

describe("the split of spa-auth's bundle", () => {
  const spaAuth = LIBRARIES.find((library) => library.id === 'spa-auth')!

  it('keeps oauth4webapi and the protocol out of the first load, and features out of the job', async () => {
    const bundle = await measureSplitBundle(spaAuth.adapter, spaAuth.split)
    const carrying = (module: string) =>
      bundle.chunks.filter((chunk) => chunk.modules.some((cost) => cost.path === module)).map((chunk) => chunk.file)

    expect(bundle.firstLoad.files.every((file) => bundle.job.files.includes(file))).toBe(true)
    for (const module of ['node_modules/oauth4webapi/build/index.js', 'src/protocol/provider.ts']) {
      expect(carrying(module).length, module).toBeGreaterThan(0)
      expect(
        carrying(module).some((file) => bundle.firstLoad.files.includes(file)),
        module,
      ).toBe(false)
      expect(
        carrying(module).every((file) => bundle.job.files.includes(file)),
        module,
      ).toBe(true)
    }
    expect(bundle.jobLoads.map((load) => load.module).sort()).toEqual(
      ['src/protocol/provider.ts', 'src/sign-in/flow.ts', 'src/worker/page.ts'].sort(),
    )
    expect(bundle.features.map((feature) => feature.module).sort()).toEqual(Object.keys(spaAuth.split!.features).sort())
    for (const feature of bundle.features) {
      expect(feature.files.length, feature.module).toBeGreaterThan(0)
      expect(
        feature.files.some((file) => bundle.job.files.includes(file)),
        feature.module,
      ).toBe(false)
    }
    expect(bundle.firstLoad.gzipBytes).toBe(
      bundle.chunks
        .filter((chunk) => bundle.firstLoad.files.includes(chunk.file))
        .reduce((sum, chunk) => sum + chunk.gzipBytes, 0),
    )
  })

  it('fails the measure on an import() that is neither in the job nor a feature', async () => {
    await expect(measureSplitBundle(spaAuth.adapter, { job: {}, features: {} })).rejects.toThrow(
      /import\(\) of .*src\/protocol\/provider\.ts.* is neither in the job nor a feature/,
    )
  })
})

describe('the budget lines', () => {
  const settings = { budgetFirstLoadGzipBytes: 6 * 1024, budgetJobGzipBytes: 16 * 1024, budgetWarmStartRatio: 0.9 }

  const group = (files: string[], gzipBytes: number) => ({
    files,
    rawBytes: gzipBytes * 3,
    gzipBytes,
    oneFileGzipBytes: gzipBytes - 10,
  })
  const bundle = (firstLoadGzip: number, protocolGzip: number): BundleSize => ({
    chunks: [
      {
        file: 'app.js',
        rawBytes: firstLoadGzip * 3,
        gzipBytes: firstLoadGzip,
        imports: [],
        dynamicImports: ['protocol.js'],
        modules: [{ path: 'src/session/session.ts', bytes: firstLoadGzip * 3 }],
      },
      {
        file: 'protocol.js',
        rawBytes: protocolGzip * 3,
        gzipBytes: protocolGzip,
        loads: 'src/protocol/provider.ts',
        imports: [],
        dynamicImports: [],
        modules: [
          { path: 'node_modules/oauth4webapi/build/index.js', bytes: protocolGzip * 2 },
          { path: 'src/protocol/provider.ts', bytes: protocolGzip },
        ],
      },
    ],
    firstLoad: group(['app.js'], firstLoadGzip),
    job: group(['app.js', 'protocol.js'], firstLoadGzip + protocolGzip),
    jobLoads: [{ module: 'src/protocol/provider.ts', step: 'the provider' }],
    features: [],
    eager: { rawBytes: 1, gzipBytes: 1, modules: [] },
  })
  const warmStart = (medianMs: number, requestsPerRun = [0, 0]): StartUpResult => ({
    signIn: { total: 8, byKind: {} },
    warmStart: {
      runs: requestsPerRun.length,
      requests: { total: 0, byKind: {} },
      requestsPerRun,
      signedInAtMs: [medianMs],
      medianMs,
      scriptsFetchedAtMs: [medianMs / 2],
      scriptsMedianMs: medianMs / 2,
    },
    hotPath: { rounds: [1], medianCallsPerSecond: 1 },
  })
  const library = (id: LibraryReport['id'], fields: Partial<LibraryReport>): LibraryReport => ({
    id,
    label: `${id} 1.0.0`,
    setup: '',
    tokenGetter: '',
    bundle: { ok: false, error: 'not run' },
    startUp: { ok: false, error: 'not run' },
    refresh: { ok: false, error: 'not run' },
    ...fields,
  })
  const lines = (ours: Partial<LibraryReport>, peerMs = 100) => {
    const budget = checkBudgets(
      [library('spa-auth', ours), library('oidc-client-ts', { startUp: { ok: true, value: warmStart(peerMs) } })],
      settings,
    )
    return { budget, text: budgetLines({ budget }).join('\n') }
  }

  it('fails loudly over a size budget, by how much, with the largest chunks and packages', () => {
    const { budget, text } = lines({ bundle: { ok: true, value: bundle(7_000, 12_000) } })
    expect(budget.pass).toBe(false)
    expect(text).toContain('!! BUDGET FAIL: spa-auth first load, min+gzip: 7,000 B (6.8 KiB)')
    expect(text).toContain('over by 856 B (14 %)')
    expect(text).toContain('!! BUDGET FAIL: spa-auth default job, min+gzip: 19,000 B (18.6 KiB)')
    expect(text).toContain('over by 2,616 B (16 %)')
    expect(text).toMatch(/protocol\.js 12,000 B \(63 %\): node_modules\/oauth4webapi\/build\/index\.js 24,000/)
    expect(text).toContain('by package, minified: src 33,000 B, oauth4webapi 24,000 B')
    expect(text).toContain('`npm run bench -- --strict` exits 1')
  })

  it('passes at or under every budget', () => {
    const { budget, text } = lines({
      bundle: { ok: true, value: bundle(6 * 1024, 10 * 1024) },
      startUp: { ok: true, value: warmStart(90) },
    })
    expect(budget.pass).toBe(true)
    expect(text.split('\n')).toEqual([
      expect.stringMatching(/^Budget PASS: spa-auth first load, min\+gzip: 6,144 B/),
      expect.stringMatching(/^Budget PASS: spa-auth default job, min\+gzip: 16,384 B/),
      expect.stringMatching(
        /^Budget PASS: spa-auth warm start, median ÷ oidc-client-ts's: 0\.90 \(90\.0 ms ÷ 100\.0 ms\)/,
      ),
      expect.stringMatching(/^Budget PASS: spa-auth warm start, requests to the provider: 0 in the worst of 2 reloads/),
    ])
  })

  it('fails a slower warm start, a request on a reload, and what could not be measured', () => {
    const { budget, text } = lines({ startUp: { ok: true, value: warmStart(120, [0, 2]) } })
    expect(budget.checks.map((check) => check.pass)).toEqual([false, false, false, false])
    expect(text).toContain(
      "!! BUDGET FAIL: spa-auth warm start, median ÷ oidc-client-ts's: 1.20 (120.0 ms ÷ 100.0 ms), budget 0.90: over by 0.30 (33 %)",
    )
    expect(text).toContain(
      '!! BUDGET FAIL: spa-auth warm start, requests to the provider: 2 in the worst of 2 reloads, budget 0.',
    )
    expect(text).toContain('!! BUDGET FAIL: spa-auth first load, min+gzip: not measured.')
    expect(text).toContain('!!   not run')
  })
})

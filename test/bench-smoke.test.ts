// @vitest-environment node
/**
 * `npm run bench` takes minutes and is not part of `npm test`; this runs the same code on a tiny
 * configuration (`--quick`: 3-s tokens, one short idle window, few iterations) — the packed
 * package in fresh Vite apps, their files module by module, the job recorded in Chromium, the
 * esbuild row, the start-up and refresh measures — and checks that every measure still holds
 * together, then the budget lines and the generated report. The numbers of such a run mean nothing.
 */
import { readFile } from 'node:fs/promises'
import { beforeAll, describe, expect, it } from 'vitest'
import { featureChunks, type AppBundle } from './bench/app-bundle.js'
import { QUICK_SETTINGS, runBench, type BenchReport } from './bench/bench.js'
import { BUDGET_NAMES, budgetLines, checkBudgets } from './bench/budget.js'
import { measureSplitBundle } from './bench/bundle-size.js'
import { AS_IT_IS, jobOf, type AppJob } from './bench/job-fetches.js'
import { LIBRARIES, splitOf, SPA_AUTH_MODULES } from './bench/libraries.js'
import { performanceDoc, README_MARKERS, summaryTable, withSummary } from './bench/performance-doc.js'
import { measuresTable, ROWS, type LibraryReport } from './bench/report.js'
import { UNMAPPED } from './bench/source-map-cost.js'
import type { StartUpResult } from './bench/start-up.js'
import { skipBrowserSuites } from './browser/support/chromium.js'

const spaAuth = LIBRARIES.find((library) => library.id === 'spa-auth')!
const OAUTH = /^node_modules\/oauth4webapi\//
const valueOf = <T>(outcome: { ok: true; value: T } | { ok: false; error: string }): T => {
  if (!outcome.ok) throw new Error(outcome.error)
  return outcome.value
}

describe.skipIf(skipBrowserSuites)('the benchmark on a tiny configuration', () => {
  let report: BenchReport
  let ours: LibraryReport
  let app: AppBundle
  let job: AppJob
  const chunksOf = (files: readonly string[]) => app.chunks.filter((chunk) => files.includes(chunk.file))
  const gzipSum = (files: readonly string[]) => chunksOf(files).reduce((sum, chunk) => sum + chunk.gzipBytes, 0)

  beforeAll(async () => {
    report = await runBench(QUICK_SETTINGS, { log: () => {} })
    ours = report.libraries[0]!
    app = valueOf(ours.app)
    job = valueOf(ours.job)
  }, 180_000)

  it('measures every row for spa-auth, oidc-client-ts and auth0-spa-js in one run, and every budget line', () => {
    expect(report.libraries.map((library) => library.id)).toEqual(['spa-auth', 'oidc-client-ts', 'auth0-spa-js'])
    for (const library of report.libraries) {
      for (const outcome of [library.app, library.job, library.esbuild, library.startUp, library.refresh])
        expect(outcome, library.id).toMatchObject({ ok: true })
    }
    expect(ours.esbuildWorker).toMatchObject({ ok: true })

    const lines = measuresTable(report)
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
      // A number; "not measured" with a footnote that says why; or "–" (a peer without a worker) with one.
      for (const cell of cells) expect(cell, row).toMatch(/^(\d|not measured \[\d+\]$|– \[\d+\]$)/)
    }
    expect(report.budget.checks.map((check) => check.name)).toEqual(Object.values(BUDGET_NAMES))
    const budget = budgetLines(report)
    for (const name of Object.values(BUDGET_NAMES)) {
      expect(budget.some((line) => /^(Budget PASS|!! BUDGET FAIL): spa-auth /.test(line) && line.includes(name))).toBe(
        true,
      )
    }
  })

  it("builds spa-auth's app from the packed package with Vite, and knows what is in every file", () => {
    expect(report.packed?.filename).toMatch(/^spa-auth-\d+\.\d+\.\d+\.tgz$/)
    expect(app.chunks.filter((chunk) => chunk.entry && chunk.build === 'page')).toHaveLength(1)
    expect(app.firstLoad.files[0]).toBe(app.chunks[0]!.file)
    for (const chunk of app.chunks) {
      // Every byte goes to a module, and most of them to a real one (the bundler's glue is small).
      expect(
        chunk.modules.reduce((sum, module) => sum + module.bytes, 0),
        chunk.file,
      ).toBe(chunk.rawBytes)
      const unmapped = chunk.modules.find((module) => module.path === UNMAPPED)?.bytes ?? 0
      expect(unmapped, chunk.file).toBeLessThan(Math.max(400, chunk.rawBytes / 5))
      expect(chunk.gzipBytes, chunk.file).toBeGreaterThan(0)
    }
    const ownBytes = app.chunks.flatMap((chunk) => chunk.modules).filter((module) => module.path.startsWith('src/'))
    expect(ownBytes.length).toBeGreaterThan(10)

    expect(app.firstLoad.gzipBytes).toBe(gzipSum(app.firstLoad.files))
    expect(app.allPage.gzipBytes).toBe(gzipSum(app.allPage.files))
    expect(app.allPage.files).toEqual(app.chunks.filter((chunk) => chunk.build === 'page').map((chunk) => chunk.file))
    expect(app.firstLoad.files.every((file) => app.allPage.files.includes(file))).toBe(true)
    // oauth4webapi and the features stay out of a page load.
    expect(chunksOf(app.firstLoad.files).some((chunk) => chunk.modules.some((m) => OAUTH.test(m.path)))).toBe(false)
    expect(app.features.map((feature) => feature.module).sort()).toEqual(Object.keys(SPA_AUTH_MODULES.features).sort())

    const worker = app.worker!
    expect(worker.files.length).toBeGreaterThan(0)
    expect(chunksOf(worker.files).every((chunk) => chunk.build === 'worker')).toBe(true)
    expect(chunksOf(worker.files).some((chunk) => chunk.modules.some((m) => OAUTH.test(m.path)))).toBe(true)
    expect(worker.gzipBytes).toBe(gzipSum(worker.files))
  })

  it('records the job in Chromium: what each step fetched, with the refresh worker and without it', () => {
    expect(job.passes.map((pass) => pass.name)).toEqual([AS_IT_IS, expect.stringMatching(/without SharedWorker/)])
    expect(job.workerFetches.map((pass) => pass.files.length > 0)).toEqual([true, false])
    const asItIs = job.passes[0]!.steps
    expect(asItIs.map((step) => step.step)).toEqual([
      'page load, signed out',
      'sign-in and callback',
      'refresh',
      'sign-out',
    ])
    // The refresh worker starts with the first refresh.
    expect(asItIs[2]!.files.some((file) => app.worker!.files.includes(file))).toBe(true)

    expect(job.files.slice(0, app.firstLoad.files.length)).toEqual(app.firstLoad.files)
    expect(job.files.every((file) => app.allPage.files.includes(file))).toBe(true)
    expect(job.byStep.flatMap((step) => step.files).sort()).toEqual([...job.files].sort())
    expect(job.gzipBytes).toBe(gzipSum(job.files))
    // The protocol (oauth4webapi) comes with the sign-in; the features the job does not use stay out.
    expect(chunksOf(job.files).some((chunk) => chunk.modules.some((m) => OAUTH.test(m.path)))).toBe(true)
    for (const feature of app.features) expect(feature.files.some((file) => job.files.includes(file))).toBe(false)

    for (const peer of report.libraries.slice(1)) {
      const peerApp = valueOf(peer.app)
      expect(valueOf(peer.job).files, peer.id).toEqual(peerApp.firstLoad.files)
      expect(peerApp.worker, peer.id).toBeUndefined()
    }
  })

  it('keeps the esbuild split of src/ as the second row', () => {
    const esbuild = valueOf(ours.esbuild)
    expect(esbuild.firstLoad.files.every((file) => esbuild.job.files.includes(file))).toBe(true)
    expect(esbuild.jobLoads.map((load) => load.module).sort()).toEqual(Object.keys(SPA_AUTH_MODULES.job).sort())
    expect(esbuild.features.map((feature) => feature.module).sort()).toEqual(
      Object.keys(SPA_AUTH_MODULES.features).sort(),
    )
    expect(valueOf(ours.esbuildWorker!).firstLoad.gzipBytes).toBeGreaterThan(0)
  })

  it('fails the Vite measure loudly when the module table names what the build no longer has', async () => {
    const page = app.chunks.filter((chunk) => chunk.build === 'page')
    const stale = { ...spaAuth, modules: { ...SPA_AUTH_MODULES, features: { 'src/testing.ts': 'spa-auth/testing' } } }
    expect(() => featureChunks(stale, page)).toThrow(
      'SPA_AUTH_MODULES in test/bench/libraries.ts names src/testing.ts (spa-auth/testing), but no chunk of the Vite app build carries it',
    )
    const gone = { ...spaAuth, modules: { ...SPA_AUTH_MODULES, features: { 'src/session/gone.ts': 'a feature' } } }
    expect(() => featureChunks(gone, page)).toThrow(
      /names src\/session\/gone\.ts \(a feature\), which no longer exists/,
    )
    const misplaced = { ...spaAuth, modules: { ...SPA_AUTH_MODULES, job: { 'src/protocol/dpop.ts': 'DPoP' } } }
    await expect(jobOf(misplaced, '/nowhere', app, job)).rejects.toThrow(
      /places src\/protocol\/dpop\.ts \(DPoP\) in the job, but no chunk Chromium fetched during the job carries it/,
    )
  })

  it('writes the report people read: the machine, every row, every chunk with its modules, the budget lines', () => {
    const doc = performanceDoc(report)
    for (const part of [
      `Node ${process.version}`,
      `Chromium ${report.machine.chromium}`,
      `commit ${report.commit}`,
      '## Budgets',
      ...summaryTable(report),
      ...measuresTable(report),
      ...budgetLines(report),
      '## The esbuild split (second row)',
    ]) {
      expect(doc).toContain(part)
    }
    for (const library of report.libraries) {
      for (const chunk of valueOf(library.app).chunks) {
        expect(doc).toContain(`\`${chunk.file}\``)
        expect(doc).toContain(`${chunk.modules[0]!.path} ${chunk.modules[0]!.bytes.toLocaleString('en-US')}`)
      }
    }
    const readme = `# x\n\n## Performance\n\n${README_MARKERS.start}\nold\n${README_MARKERS.end}\n\nafter\n`
    expect(withSummary(readme, report)).toBe(
      `# x\n\n## Performance\n\n${README_MARKERS.start}\n\n${summaryTable(report).join('\n')}\n\n${README_MARKERS.end}\n\nafter\n`,
    )
  })
})

describe('the module table', () => {
  it('fails the esbuild measure naming the table when a module in it no longer exists', async () => {
    const split = { ...splitOf(SPA_AUTH_MODULES), job: { 'src/session/gone.ts': 'a step' } }
    await expect(measureSplitBundle(spaAuth.adapter, split)).rejects.toThrow(
      'SPA_AUTH_MODULES in test/bench/libraries.ts names src/session/gone.ts (a step), which no longer exists',
    )
  })

  it('fails the esbuild measure on an import() that is neither in the job nor a feature', async () => {
    await expect(measureSplitBundle(spaAuth.adapter, { job: {}, features: {} })).rejects.toThrow(
      /import\(\) of .*src\/protocol\/provider\.ts.* is neither in the job nor a feature: place it in SPA_AUTH_MODULES/,
    )
  })
})

describe("the README's Performance section", () => {
  it('is at most a screen, links the full report, and shows the table the full report was generated with', async () => {
    const [readme, doc] = await Promise.all([
      readFile(new URL('../README.md', import.meta.url), 'utf8'),
      readFile(new URL('../docs/performance.md', import.meta.url), 'utf8'),
    ])
    const start = readme.indexOf('\n## Performance\n')
    const end = readme.indexOf('\n## ', start + 1)
    const section = readme.slice(start, end === -1 ? undefined : end)
    expect(start).toBeGreaterThan(-1)
    expect(section.split('\n').length).toBeLessThanOrEqual(40)
    expect(section).toContain('(docs/performance.md)')
    const from = section.indexOf(README_MARKERS.start)
    expect(from).toBeGreaterThan(-1)
    const table = section.slice(from + README_MARKERS.start.length, section.indexOf(README_MARKERS.end)).trim()
    expect(table).toMatch(/^\| gzip -9 per file/)
    expect(doc).toContain(`## Budgets\n\n${table}\n`)
  })
})

describe('the budget lines', () => {
  const settings = QUICK_SETTINGS
  const group = (files: string[], gzipBytes: number) => ({
    files,
    rawBytes: gzipBytes * 3,
    gzipBytes,
    oneFileGzipBytes: gzipBytes,
  })
  const chunk = (file: string, gzipBytes: number, modules: [string, number][], build: 'page' | 'worker' = 'page') => ({
    file,
    build,
    entry: file === 'app.js' || file === 'worker.js',
    rawBytes: gzipBytes * 3,
    gzipBytes,
    imports: [],
    dynamicImports: [],
    virtualModules: [],
    modules: modules.map(([path, bytes]) => ({ path, bytes })),
  })
  const bundle = (
    firstLoad: number,
    protocol: number,
    feature: number,
    worker: number,
    serviceWorker = worker,
  ): AppBundle => ({
    chunks: [
      chunk('app.js', firstLoad, [['src/session/session.ts', firstLoad * 3]]),
      chunk('protocol.js', protocol, [
        ['node_modules/oauth4webapi/build/index.js', protocol * 2],
        ['src/protocol/provider.ts', protocol],
      ]),
      chunk('dpop.js', feature, [['src/protocol/dpop.ts', feature * 3]]),
      chunk('worker.js', worker, [['node_modules/oauth4webapi/build/index.js', worker * 3]], 'worker'),
    ],
    firstLoad: group(['app.js'], firstLoad),
    allPage: group(['app.js', 'protocol.js', 'dpop.js'], firstLoad + protocol + feature),
    worker: group(['worker.js'], worker),
    serviceWorker: {
      file: 'assets/refresh-service-worker.js',
      shipped: 'dist/refresh-service-worker.js',
      rawBytes: serviceWorker * 3,
      gzipBytes: serviceWorker,
    },
    features: [{ module: 'src/protocol/dpop.ts', use: 'dpop: true', files: ['dpop.js'] }],
  })
  const jobOfBundle = (value: AppBundle): AppJob => ({
    ...group(['app.js', 'protocol.js'], value.chunks[0]!.gzipBytes + value.chunks[1]!.gzipBytes),
    byStep: [],
    workerFetches: [],
    passes: [],
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
    job: { name: AS_IT_IS, steps: [] },
  })
  const library = (id: LibraryReport['id'], fields: Partial<LibraryReport>): LibraryReport => ({
    id,
    label: `${id} 1.0.0`,
    setup: '',
    tokenGetter: '',
    app: { ok: false, error: 'not run' },
    job: { ok: false, error: 'not run' },
    esbuild: { ok: false, error: 'not run' },
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
  const measured = (value: AppBundle) => ({
    app: { ok: true as const, value },
    job: { ok: true as const, value: jobOfBundle(value) },
  })

  it('fails loudly over a size budget, by how much, with the largest chunks, their modules and packages', () => {
    const { budget, text } = lines(measured(bundle(9_000, 12_000, 6_000, 17_000)))
    expect(budget.pass).toBe(false)
    expect(text).toContain(
      `!! BUDGET FAIL: spa-auth ${BUDGET_NAMES.firstLoad}: 9,000 B (8.8 KiB) in 1 file, budget 8,192 B (8.0 KiB) in 1 file: over by 808 B (10 %).`,
    )
    expect(text).toContain(
      `!! BUDGET FAIL: spa-auth ${BUDGET_NAMES.job}: 21,000 B (20.5 KiB) in 2 files, budget 20,480 B (20.0 KiB): over by 520 B (3 %).`,
    )
    expect(text).toMatch(
      /protocol\.js 12,000 B \(57 %\): node_modules\/oauth4webapi\/build\/index\.js 24,000, src\/protocol\/provider\.ts 12,000/,
    )
    expect(text).toContain('by package, minified: src 39,000 B, oauth4webapi 24,000 B')
    expect(text).toContain(
      `!! BUDGET FAIL: spa-auth ${BUDGET_NAMES.allPage}: 27,000 B (26.4 KiB) in 3 files, budget 26,624 B (26.0 KiB): over by 376 B (1 %).`,
    )
    expect(text).toContain(
      `!! BUDGET FAIL: spa-auth ${BUDGET_NAMES.worker}: 17,000 B (16.6 KiB) in 1 file, budget 16,384 B (16.0 KiB): over by 616 B (4 %).`,
    )
    expect(text).toContain('`npm run bench -- --strict` exits 1')
  })

  it('fails the refresh service worker over the worker budget, by how much and what its shipped source map says is in it', () => {
    const value = bundle(4_000, 1_000, 500, 1_000, 17_000)
    const mapped = {
      ...value,
      serviceWorker: {
        ...value.serviceWorker!,
        modules: [
          { path: 'node_modules/oauth4webapi/build/index.js', bytes: 30_000 },
          { path: 'src/session/refresh.ts', bytes: 12_000 },
          { path: 'src/protocol/refresh-steps.ts', bytes: 9_000 },
        ],
      },
    }
    const { budget, text } = lines({ app: { ok: true, value: mapped }, job: { ok: true, value: jobOfBundle(value) } })
    expect(budget.checks.find((check) => check.name === BUDGET_NAMES.serviceWorker)?.measured).toBe(17_000)
    expect(text).toContain(
      `!! BUDGET FAIL: spa-auth ${BUDGET_NAMES.serviceWorker}: 17,000 B (16.6 KiB) in 1 file, budget 16,384 B (16.0 KiB): over by 616 B (4 %).`,
    )
    expect(text).toContain(
      'assets/refresh-service-worker.js 17,000 B (100 %): node_modules/oauth4webapi/build/index.js 30,000, src/session/refresh.ts 12,000',
    )
    expect(text).toContain('by package, minified: oauth4webapi 30,000 B, src 21,000 B')
  })

  it('says that nothing tells what is in a refresh service worker shipped without a source map', () => {
    const value = bundle(4_000, 1_000, 500, 1_000, 17_000)
    const { text } = lines({ app: { ok: true, value }, job: { ok: true, value: jobOfBundle(value) } })
    expect(text).toContain(
      `!! BUDGET FAIL: spa-auth ${BUDGET_NAMES.serviceWorker}: 17,000 B (16.6 KiB) in 1 file, budget 16,384 B (16.0 KiB): over by 616 B (4 %).\n` +
        '!!   dist/refresh-service-worker.js ships with no source map beside it, so nothing tells what is in it: 51,000 B minified, 17,000 B gzip, one file\n',
    )
  })

  it('fails a first load in more than one file, however small', () => {
    const value = bundle(4_000, 1_000, 500, 1_000)
    const split = { ...value, firstLoad: group(['app.js', 'protocol.js'], 5_000) }
    const { text } = lines({ app: { ok: true, value: split }, job: { ok: true, value: jobOfBundle(value) } })
    expect(text).toContain(
      `!! BUDGET FAIL: spa-auth ${BUDGET_NAMES.firstLoad}: 5,000 B (4.9 KiB) in 2 files, budget 8,192 B (8.0 KiB) in 1 file: over by 1 file too many.`,
    )
  })

  it('passes at or under every budget', () => {
    const { budget, text } = lines({
      ...measured(bundle(8 * 1024, 12 * 1024, 6 * 1024, 16 * 1024)),
      startUp: { ok: true, value: warmStart(100) },
    })
    expect(budget.pass).toBe(true)
    expect(text.split('\n')).toEqual([
      `Budget PASS: spa-auth ${BUDGET_NAMES.firstLoad}: 8,192 B (8.0 KiB) in 1 file, budget 8,192 B (8.0 KiB) in 1 file.`,
      `Budget PASS: spa-auth ${BUDGET_NAMES.job}: 20,480 B (20.0 KiB) in 2 files, budget 20,480 B (20.0 KiB).`,
      `Budget PASS: spa-auth ${BUDGET_NAMES.allPage}: 26,624 B (26.0 KiB) in 3 files, budget 26,624 B (26.0 KiB).`,
      `Budget PASS: spa-auth ${BUDGET_NAMES.worker}: 16,384 B (16.0 KiB) in 1 file, budget 16,384 B (16.0 KiB).`,
      `Budget PASS: spa-auth ${BUDGET_NAMES.serviceWorker}: 16,384 B (16.0 KiB) in 1 file, budget 16,384 B (16.0 KiB).`,
      `Budget PASS: spa-auth ${BUDGET_NAMES.warmStart}: 1.00 (100.0 ms ÷ 100.0 ms), budget 1.00.`,
      `Budget PASS: spa-auth ${BUDGET_NAMES.warmRequests}: 0 in the worst of 2 reloads, budget 0.`,
    ])
  })

  it('fails a slower warm start, a request on a reload, and what could not be measured', () => {
    const { budget, text } = lines({ startUp: { ok: true, value: warmStart(120, [0, 2]) } })
    expect(budget.checks.map((check) => check.pass)).toEqual([false, false, false, false, false, false, false])
    expect(text).toContain(
      `!! BUDGET FAIL: spa-auth ${BUDGET_NAMES.warmStart}: 1.20 (120.0 ms ÷ 100.0 ms), budget 1.00: over by 0.20 (20 %).`,
    )
    expect(text).toContain(
      `!! BUDGET FAIL: spa-auth ${BUDGET_NAMES.warmRequests}: 2 in the worst of 2 reloads, budget 0: over by 2.`,
    )
    expect(text).toContain(`!! BUDGET FAIL: spa-auth ${BUDGET_NAMES.firstLoad}: not measured.`)
    expect(text).toContain('!!   not run')
  })
})

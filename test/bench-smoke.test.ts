// @vitest-environment node
/**
 * `npm run bench` takes minutes and is not part of `npm test`; this runs the same code on a tiny
 * configuration (4-s tokens, one short idle window, few iterations) to show that it still
 * produces every row for every library. The numbers of such a run mean nothing.
 */
import { describe, expect, it } from 'vitest'
import { formatReport, QUICK_SETTINGS, runBench } from './bench/bench.js'
import { budgetLines, ROWS, type BenchReport } from './bench/report.js'
import { skipBrowserSuites } from './browser/support/chromium.js'

describe.skipIf(skipBrowserSuites)('the benchmark on a tiny configuration', () => {
  it('measures every row for spa-auth, oidc-client-ts and auth0-spa-js in one run', { timeout: 180_000 }, async () => {
    const report = await runBench(QUICK_SETTINGS, { log: () => {} })

    expect(report.libraries.map((library) => library.id)).toEqual(['spa-auth', 'oidc-client-ts', 'auth0-spa-js'])
    const ours = report.libraries[0]!
    for (const outcome of [ours.bundle, ours.startUp, ours.refresh]) expect(outcome).toMatchObject({ ok: true })
    expect(report.budget.gzipBytes).toBe(ours.bundle.ok ? ours.bundle.value.gzipBytes : null)

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
    expect(table).toMatch(/Budget PASS|BUDGET FAIL/)
    expect(table).toContain(`Chromium ${report.machine.chromium}`)
  })
})

describe('the bundle budget line', () => {
  const report = (gzipBytes: number): BenchReport => ({
    startedAt: '2026-01-01T00:00:00.000Z',
    durationSeconds: 1,
    machine: { node: 'v20', chromium: '1', cpus: 2, cpuModel: 'cpu', os: 'linux' },
    settings: {},
    budget: { library: 'spa-auth', limitGzipBytes: 12 * 1024, gzipBytes, pass: gzipBytes <= 12 * 1024 },
    libraries: [
      {
        id: 'spa-auth',
        label: 'spa-auth 0.1.0',
        setup: '',
        tokenGetter: '',
        bundle: {
          ok: true,
          value: {
            rawBytes: 40_000,
            gzipBytes,
            modules: [
              { path: 'node_modules/oauth4webapi/build/index.js', bytes: 30_000 },
              { path: 'src/session.ts', bytes: 10_000 },
            ],
          },
        },
        startUp: { ok: false, error: 'not run' },
        refresh: { ok: false, error: 'not run' },
      },
    ],
  })

  it('fails loudly over the budget and says what each input module costs', () => {
    const lines = budgetLines(report(13_000)).join('\n')
    expect(lines).toContain('BUDGET FAIL')
    expect(lines).toContain('over by 712 B')
    expect(lines).toMatch(/node_modules\/oauth4webapi\/build\/index\.js +30000 +75\.0 %/)
    expect(lines).toMatch(/src\/session\.ts +10000 +25\.0 %/)
  })

  it('passes at or under the budget', () => {
    expect(budgetLines(report(12 * 1024))[0]).toMatch(/^Budget PASS/)
  })
})

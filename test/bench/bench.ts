/**
 * `npm run bench`: spa-auth, oidc-client-ts and auth0-spa-js side by side, measured on the same
 * machine in the same run. Bundle sizes first, then the start-up measures one
 * library at a time (they time things), then the refresh economy of all three at once (it mostly
 * waits for tokens to age); last, the budget lines of issue #14 over what was measured.
 */
import { cpus, platform, release } from 'node:os'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { launchChromium } from '../browser/support/chromium.js'
import { checkBudgets, type BudgetSettings } from './budget.js'
import { measureBundle, measureSplitBundle } from './bundle-size.js'
import { LIBRARIES, type BenchLibrary } from './libraries.js'
import { measureRefreshEconomy, type RefreshSettings } from './refresh-economy.js'
import type { BenchReport, LibraryReport, Outcome } from './report.js'
import { serveBenchSite, type BenchSite } from './stage.js'
import { measureStartUp, type StartUpSettings } from './start-up.js'

export { formatReport } from './report.js'
export type { BenchReport } from './report.js'

export interface BenchSettings extends StartUpSettings, RefreshSettings, BudgetSettings {}

/** The performance promises the bench checks. */
const BUDGETS: BudgetSettings = {
  budgetFirstLoadGzipBytes: 6 * 1024,
  budgetJobGzipBytes: 16 * 1024,
  budgetWarmStartRatio: 0.9,
}

/** The full run: about three and a half minutes, most of it two lifetimes of 75-s tokens. */
export const FULL_SETTINGS: BenchSettings = {
  // auth0-spa-js treats a token with less than 60 s left as expired, whatever its lifetime: with
  // shorter tokens it would refresh on every call, which says nothing about real use.
  tokenLifetimeSeconds: 75,
  idleLifetimes: 2,
  burstCallers: 100,
  // The warm-start median is a budget line: enough reloads that one slow one does not move it.
  warmStartRuns: 15,
  hotPathMs: 1000,
  hotPathRounds: 3,
  settleMs: 500,
  ...BUDGETS,
}

/** A tiny run that still produces every row (the smoke test, `npm run bench -- --quick`). */
export const QUICK_SETTINGS: BenchSettings = {
  tokenLifetimeSeconds: 4,
  idleLifetimes: 1,
  burstCallers: 10,
  warmStartRuns: 2,
  hotPathMs: 100,
  hotPathRounds: 1,
  settleMs: 200,
  ...BUDGETS,
}

export interface BenchIo {
  /** Progress lines. */
  log(line: string): void
}

async function attempt<T>(run: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await run() }
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) }
  }
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`

export async function runBench(
  settings: BenchSettings,
  io: BenchIo,
  libraries: readonly BenchLibrary[] = LIBRARIES,
): Promise<BenchReport> {
  const started = performance.now()
  const startedAt = new Date().toISOString()

  let step = performance.now()
  const bundles = new Map<string, LibraryReport['bundle']>()
  const workers = new Map<string, NonNullable<LibraryReport['worker']>>()
  for (const library of libraries) {
    bundles.set(library.id, await attempt(() => measureBundle(library.adapter, library.split)))
    const { worker } = library
    if (worker) workers.set(library.id, await attempt(() => measureSplitBundle(worker.entry, worker.split)))
  }
  io.log(`bundle sizes measured in ${seconds(step)}`)

  const sites = new Map<string, Outcome<BenchSite>>()
  let browser: Browser | undefined
  try {
    for (const library of libraries) sites.set(library.id, await attempt(() => serveBenchSite(library)))
    browser = await launchChromium()
    const chromium = browser.version()
    const inSite = <T>(
      library: BenchLibrary,
      measure: (browser: Browser, site: BenchSite) => Promise<T>,
    ): Promise<Outcome<T>> => {
      const site = sites.get(library.id)!
      return site.ok ? attempt(() => measure(browser!, site.value)) : Promise.resolve(site)
    }

    const startUps = new Map<string, LibraryReport['startUp']>()
    for (const library of libraries) {
      step = performance.now()
      startUps.set(library.id, await inSite(library, (browser, site) => measureStartUp(browser, site, settings)))
      io.log(`${library.label}: sign-in, warm start and token getter measured in ${seconds(step)}`)
    }

    step = performance.now()
    io.log(
      `refresh economy: every library at once, ${settings.tokenLifetimeSeconds}-s tokens, about ${Math.round(settings.tokenLifetimeSeconds * Math.max(settings.idleLifetimes, 1) + 15)} s …`,
    )
    const refreshes = await Promise.all(
      libraries.map((library) => inSite(library, (browser, site) => measureRefreshEconomy(browser, site, settings))),
    )
    io.log(`refresh economy measured in ${seconds(step)}`)

    const reports: LibraryReport[] = libraries.map((library, index) => ({
      id: library.id,
      label: library.label,
      setup: library.setup,
      tokenGetter: library.tokenGetter,
      bundle: bundles.get(library.id)!,
      ...(workers.has(library.id) ? { worker: workers.get(library.id)! } : {}),
      startUp: startUps.get(library.id)!,
      refresh: refreshes[index]!,
    }))
    return {
      startedAt,
      durationSeconds: Math.round((performance.now() - started) / 1000),
      machine: {
        node: process.version,
        chromium,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        os: `${platform()} ${release()}`,
      },
      settings: { ...settings },
      budget: checkBudgets(reports, settings),
      libraries: reports,
    }
  } finally {
    await browser?.close()
    await Promise.all([...sites.values()].map((site) => (site.ok ? site.value.close() : undefined)))
  }
}

/** Writes the report as `bench-<time>.json` and `latest.json` under `dir`; returns the first path. */
export async function writeReport(report: BenchReport, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true })
  const json = `${JSON.stringify(report, null, 2)}\n`
  const path = join(dir, `bench-${report.startedAt.replace(/[:.]/g, '-')}.json`)
  await writeFile(path, json)
  await writeFile(join(dir, 'latest.json'), json)
  return path
}

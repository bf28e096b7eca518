/**
 * `npm run bench`: spa-auth, oidc-client-ts and auth0-spa-js side by side, measured on the same
 * machine in the same run. First the builds: a Vite app per library from the packed package (and,
 * alongside, the esbuild split, the second row) and what is in each of their files; then the
 * measures in Chromium on those very builds (in-chromium.ts), among them the default job's
 * fetches; last, the budget lines over what was measured.
 */
import { execFile } from 'node:child_process'
import { cpus, platform, release, tmpdir } from 'node:os'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Browser } from 'playwright-core'
import { version as viteVersion } from 'vite'
import { launchChromium } from '../browser/support/chromium.js'
import { measureAppBundle, sourceMapReader, type AppBundle } from './app-bundle.js'
import { checkBudgets, type BudgetSettings } from './budget.js'
import { measureBundle, measureSplitBundle } from './bundle-size.js'
import { jobOf, type JobPass } from './job-fetches.js'
import { after, attempt, measureInChromium, type BenchIo } from './in-chromium.js'
import { LIBRARIES, splitOf, type BenchLibrary } from './libraries.js'
import type { BenchReport, BenchSettings, LibraryReport, Outcome } from './report.js'
import type { BenchSite } from './stage.js'
import { buildBenchApps, type BenchApps } from './vite-app.js'

export { formatReport, writeDocs } from './performance-doc.js'
export type { BenchReport, BenchSettings } from './report.js'

/** The performance promises the bench checks (issue #19). */
export const BUDGETS: BudgetSettings = {
  budgetFirstLoadGzipBytes: 8 * 1024,
  budgetFirstLoadFiles: 1,
  budgetJobGzipBytes: 20 * 1024,
  budgetAllChunksGzipBytes: 26 * 1024,
  budgetWorkerGzipBytes: 16 * 1024,
  budgetWarmStartRatio: 1,
}

/** The full run: about four minutes, most of it two lifetimes of 75-s tokens. */
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
  quick: false,
  ...BUDGETS,
}

/** A tiny run that still produces every row (the smoke test, `npm run bench -- --quick`). */
export const QUICK_SETTINGS: BenchSettings = {
  tokenLifetimeSeconds: 3,
  idleLifetimes: 1,
  burstCallers: 5,
  warmStartRuns: 2,
  hotPathMs: 100,
  hotPathRounds: 1,
  settleMs: 200,
  quick: true,
  ...BUDGETS,
}

export type { BenchIo } from './in-chromium.js'

const REPO = fileURLToPath(new URL('../../', import.meta.url))

async function commitOf(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('git', ['describe', '--always', '--dirty'], { cwd: REPO })
    return stdout.trim()
  } catch {
    return 'unknown'
  }
}

/** The esbuild row of every library, and spa-auth's refresh worker bundled by esbuild. */
async function measureEsbuild(libraries: readonly BenchLibrary[]) {
  return Promise.all(
    libraries.map(async (library) => {
      const { modules } = library
      const esbuild = await attempt(() => measureBundle(library.adapter, modules && splitOf(modules)))
      const worker = modules
        ? await attempt(() =>
            measureSplitBundle(join(REPO, modules.workerEntry), splitOf(modules), { everyModuleLoaded: false }),
          )
        : undefined
      return { esbuild, ...(worker ? { esbuildWorker: worker } : {}) }
    }),
  )
}

/** Runs every measure of every library; a measure that fails is reported as such, not thrown. */
export async function runBench(
  settings: BenchSettings,
  io: BenchIo,
  libraries: readonly BenchLibrary[] = LIBRARIES,
): Promise<BenchReport> {
  const started = performance.now()
  const startedAt = new Date().toISOString()
  const timings: Record<string, number> = {}
  let step = performance.now()
  const lap = (label: string) => {
    timings[label] = Math.round(performance.now() - step)
    io.log(`${label}: ${(timings[label] / 1000).toFixed(1)} s`)
    step = performance.now()
  }
  const work = await mkdtemp(join(tmpdir(), 'spa-auth-bench-'))
  let browser: Browser | undefined
  try {
    const launched = launchChromium()
    const [apps, esbuild] = await Promise.all([
      attempt(() => buildBenchApps(libraries, work)),
      measureEsbuild(libraries),
      launched.then(
        (opened) => void (browser = opened),
        () => undefined,
      ),
    ])
    if (apps.ok) Object.assign(timings, apps.value.timings)
    lap('builds: the packed package, the Vite apps, the esbuild split')
    const reader = apps.ok ? sourceMapReader(apps.value.projectDir) : undefined
    const bundles = await Promise.all(
      libraries.map((library) => after(apps, (value) => measureAppBundle(library, buildOf(value, library), reader))),
    )
    lap('what is in every file (source maps)')

    browser ??= await launched
    const chromium = browser.version()
    const siteOf = (library: BenchLibrary): Outcome<BenchSite> =>
      apps.ok ? { ok: true, value: { library, build: buildOf(apps.value, library) } } : apps
    const { startUps, refreshes, recordings } = await measureInChromium(browser, libraries, siteOf, settings, io)
    lap(
      settings.quick
        ? 'in Chromium: every measure at once (quick)'
        : 'in Chromium: start-up alone, then the refresh economy and the job without SharedWorker',
    )

    const reports: LibraryReport[] = await Promise.all(
      libraries.map(async (library, index) => ({
        id: library.id,
        label: library.label,
        setup: library.setup,
        tokenGetter: library.tokenGetter,
        app: bundles[index]!,
        job: await jobFrom(library, apps, bundles[index]!, startUps[index]!, recordings[index]!),
        ...esbuild[index]!,
        startUp: startUps[index]!,
        refresh: refreshes[index]!,
      })),
    )
    return {
      startedAt,
      durationSeconds: Math.round((performance.now() - started) / 1000),
      commit: await commitOf(),
      machine: machineOf(chromium),
      settings: { ...settings },
      packed: apps.ok ? apps.value.packed : null,
      timings,
      budget: checkBudgets(reports, settings),
      libraries: reports,
    }
  } finally {
    await browser?.close()
    await rm(work, { recursive: true, force: true })
  }
}

const machineOf = (chromium: string): BenchReport['machine'] => ({
  node: process.version,
  chromium,
  vite: viteVersion,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
  os: `${platform()} ${release()}`,
})

function buildOf(apps: BenchApps, library: BenchLibrary) {
  const build = apps.builds.get(library.id)
  if (build === undefined) throw new Error(`no Vite app was built for ${library.id}`)
  return build
}

/**
 * What the job fetched, read against the build: the start-up measure's recording and the one
 * without SharedWorker; the first measure it depends on that failed, if one did.
 */
function jobFrom(
  library: BenchLibrary,
  apps: Outcome<BenchApps>,
  bundle: Outcome<AppBundle>,
  startUp: LibraryReport['startUp'],
  withoutWorker: Outcome<JobPass | undefined>,
): Promise<LibraryReport['job']> {
  if (!apps.ok) return Promise.resolve(apps)
  if (!bundle.ok) return Promise.resolve(bundle)
  if (!startUp.ok) return Promise.resolve(startUp)
  if (!withoutWorker.ok) return Promise.resolve(withoutWorker)
  const passes = [startUp.value.job, ...(withoutWorker.value ? [withoutWorker.value] : [])]
  return attempt(() => jobOf(library, buildOf(apps.value, library).outDir, bundle.value, { passes }))
}

/** Writes the report as `bench-<time>.json` and `latest.json` under `dir`; returns the first path. */
export async function writeReport(report: BenchReport, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true })
  const json = `${JSON.stringify(report, null, 2)}\n`
  const path = join(dir, `bench-${report.startedAt.replace(/[:.]/g, '-')}${report.settings.quick ? '-quick' : ''}.json`)
  await writeFile(path, json)
  await writeFile(join(dir, report.settings.quick ? 'latest-quick.json' : 'latest.json'), json)
  return path
}

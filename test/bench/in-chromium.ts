/**
 * The measures in Chromium, on the apps' builds: the start-up one library at a time (alone, since
 * it times things), then the refresh economy of every library with the job recorded without
 * SharedWorker, all at once (they count, and mostly wait). A quick run, whose times mean nothing,
 * runs everything at once.
 */
import type { Browser } from 'playwright-core'
import { recordJobWithoutWorker } from './job-fetches.js'
import type { BenchLibrary } from './libraries.js'
import { measureRefreshEconomy } from './refresh-economy.js'
import type { BenchSettings, LibraryReport, Outcome } from './report.js'
import type { BenchSite } from './stage.js'
import { measureStartUp } from './start-up.js'

export interface BenchIo {
  /** Progress lines. */
  log(line: string): void
}

/** Runs `run`; its value, or why it failed. */
export async function attempt<T>(run: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await run() }
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) }
  }
}

/** `then` over a measure that may not have run. */
export const after = <T, U>(outcome: Outcome<T>, next: (value: T) => Promise<U>): Promise<Outcome<U>> =>
  outcome.ok ? attempt(() => next(outcome.value)) : Promise.resolve(outcome)

/** Every measure in Chromium, of every library; a measure that fails is reported as such, not thrown. */
export async function measureInChromium(
  browser: Browser,
  libraries: readonly BenchLibrary[],
  siteOf: (library: BenchLibrary) => Outcome<BenchSite>,
  settings: BenchSettings,
  io: BenchIo,
) {
  const inSite = <T>(library: BenchLibrary, measure: (site: BenchSite) => Promise<T>) => after(siteOf(library), measure)
  const timed = async <T>(what: string, measure: Promise<T>) => {
    const since = performance.now()
    const result = await measure
    io.log(`  ${what}: ${((performance.now() - since) / 1000).toFixed(1)} s`)
    return result
  }
  const startUp = (library: BenchLibrary) =>
    timed(
      `${library.label}: start-up`,
      inSite(library, (site) => measureStartUp(browser, site, settings)),
    )
  const startUpsInTurn = async () => {
    const startUps: LibraryReport['startUp'][] = []
    for (const library of libraries) startUps.push(await startUp(library))
    return startUps
  }
  const atOnce = () =>
    Promise.all([
      Promise.all(
        libraries.map((library) =>
          timed(
            `${library.label}: refresh economy`,
            inSite(library, (site) => measureRefreshEconomy(browser, site, settings)),
          ),
        ),
      ),
      Promise.all(
        libraries.map((library) =>
          timed(
            `${library.label}: the job without SharedWorker`,
            inSite(library, (site) => recordJobWithoutWorker(browser, site, settings)),
          ),
        ),
      ),
    ])
  io.log(
    `in Chromium: the refresh economy with ${settings.tokenLifetimeSeconds}-s tokens takes about ${Math.round(settings.tokenLifetimeSeconds * Math.max(settings.idleLifetimes, 1) + 15)} s …`,
  )
  if (settings.quick) {
    const [startUps, [refreshes, recordings]] = await Promise.all([Promise.all(libraries.map(startUp)), atOnce()])
    return { startUps, refreshes, recordings }
  }
  const startUps = await startUpsInTurn()
  const [refreshes, recordings] = await atOnce()
  return { startUps, refreshes, recordings }
}

/**
 * The measures of one tab with a long-lived token: what a sign-in costs in requests, what a
 * reload with a stored session costs (requests, time to signed-in) and how fast the token getter
 * answers when the token is valid. On its way it does the default job — page load, sign-in and
 * callback, then (after the timed measures) a refresh and a sign-out — and records the scripts
 * each step fetched (see job-fetches.ts), so that the job costs no sign-in of its own.
 */
import type { Browser, Page } from 'playwright-core'
import type { ProviderRequest } from '../support/provider.js'
import { AS_IT_IS, recordJob, refreshStep, signOutStep, type JobPass } from './job-fetches.js'
import { openStage, wait, type BenchSite, type RequestKind, type Stage } from './stage.js'

export interface RequestTally {
  total: number
  byKind: Partial<Record<RequestKind, number>>
}

export interface StartUpResult {
  /** From `signIn()` to the signed-in client back on the app. */
  signIn: RequestTally
  warmStart: {
    runs: number
    /** Median over the runs of the requests each reload sent. */
    requests: RequestTally
    /** The requests each reload sent, run by run. */
    requestsPerRun: number[]
    /** Every run's `performance.now()` at signed-in, ms since the navigation started. */
    signedInAtMs: number[]
    medianMs: number
    /** Every run's arrival of the page's last script, ms since the navigation started. */
    scriptsFetchedAtMs: number[]
    scriptsMedianMs: number
  }
  hotPath: { rounds: number[]; medianCallsPerSecond: number }
  /** The scripts each step of the default job fetched, Chromium as it is. */
  job: JobPass
}

export interface StartUpSettings {
  warmStartRuns: number
  hotPathMs: number
  hotPathRounds: number
  /** How long to keep counting requests after the client reports signed-in (background fetches). */
  settleMs: number
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

function tally(stage: Stage, requests: readonly ProviderRequest[]): RequestTally {
  const byKind: Partial<Record<RequestKind, number>> = {}
  for (const request of requests) {
    const kind = stage.kindOf(request)
    byKind[kind] = (byKind[kind] ?? 0) + 1
  }
  return { total: requests.length, byKind }
}

export async function measureStartUp(
  browser: Browser,
  site: BenchSite,
  settings: StartUpSettings,
): Promise<StartUpResult> {
  const stage = await openStage(browser, site)
  try {
    const job = recordJob(stage, settings.settleMs)
    let opened: Page | undefined
    await job.step('page load, signed out', async () => void (opened = await stage.openTab('/')))
    const page = opened!
    if (await page.evaluate(() => window.bench.signedInAt !== null)) throw new Error('signed in before signing in')

    stage.provider.resetRequests()
    // The step waits `settleMs` after it: the background requests of a sign-in are counted too.
    await job.step('sign-in and callback', () => stage.signIn(page))
    const signIn = tally(stage, stage.provider.requests)

    const runs: { at: number; scripts: number; requests: RequestTally }[] = []
    for (let run = 0; run < settings.warmStartRuns; run++) {
      stage.provider.resetRequests()
      await page.reload()
      await page.evaluate(() => window.bench.ready)
      const { signedInAt, scriptsFetchedAt, startError } = await page.evaluate(() => ({
        signedInAt: window.bench.signedInAt,
        scriptsFetchedAt: window.bench.scriptsFetchedAt,
        startError: window.bench.startError,
      }))
      if (signedInAt === null) throw new Error(`not signed in after a reload${startError ? `: ${startError}` : ''}`)
      await wait(settings.settleMs)
      runs.push({ at: signedInAt, scripts: scriptsFetchedAt ?? 0, requests: tally(stage, stage.provider.requests) })
    }
    const byTotal = [...runs].sort((a, b) => a.requests.total - b.requests.total)
    const warmStart = {
      runs: runs.length,
      requests: byTotal[Math.floor((byTotal.length - 1) / 2)]!.requests,
      requestsPerRun: runs.map((run) => run.requests.total),
      signedInAtMs: runs.map((run) => Math.round(run.at * 10) / 10),
      medianMs: median(runs.map((run) => run.at)),
      scriptsFetchedAtMs: runs.map((run) => Math.round(run.scripts * 10) / 10),
      scriptsMedianMs: median(runs.map((run) => run.scripts)),
    }

    const rounds: number[] = []
    for (let round = 0; round < settings.hotPathRounds; round++) {
      rounds.push(Math.round(await page.evaluate((ms) => window.bench.hotPath(ms), settings.hotPathMs)))
    }

    await job.step('refresh', () => refreshStep(stage, page))
    await job.step('sign-out', () => signOutStep(stage, page))
    stage.assertScriptsServed()
    return {
      signIn,
      warmStart,
      hotPath: { rounds, medianCallsPerSecond: median(rounds) },
      job: { name: AS_IT_IS, steps: job.steps },
    }
  } catch (error) {
    if (stage.pageErrors.length > 0)
      throw new Error(`${String(error)} (page errors: ${stage.pageErrors.join('; ')})`, { cause: error })
    throw error
  } finally {
    await stage.close()
  }
}

/**
 * Refresh economy in real Chromium against oidc-provider with rotation and reuse detection, all
 * scenarios of one library at once, each on its own provider and browser profile:
 * - idle tabs (one, then three sharing a profile) left alone for a few token lifetimes: how many
 *   refresh requests the library sends by itself;
 * - a burst: the tab is closed, the token expires, three tabs come back at once and each asks
 *   for a token `burstCallers` times concurrently;
 * - afterwards every tab must still hold a session the provider accepts.
 */
import type { Browser, Page } from 'playwright-core'
import { firstLine, openStage, wait, within, type BenchSite, type Stage } from './stage.js'

export interface RefreshSettings {
  tokenLifetimeSeconds: number
  /** Length of the idle window, in token lifetimes. */
  idleLifetimes: number
  /** Concurrent token requests per tab in the burst. */
  burstCallers: number
  settleMs: number
}

export interface IdleResult {
  tabs: number
  windowSeconds: number
  refreshRequests: number
  perLifetime: number
}

export interface RefreshResult {
  tokenLifetimeSeconds: number
  renewLeadSeconds: number
  idleOneTab: IdleResult
  idleThreeTabs: IdleResult
  burst: {
    tabs: number
    callersPerTab: number
    refreshRequests: number
    distinctTokens: number
    failedCalls: number
    firstFailure?: string
  }
  sessions: { tabs: number; lost: number; why: string[] }
  /** Token-endpoint answers `invalid_grant` over all scenarios. */
  invalidGrants: number
}

interface ScenarioOutcome<T> {
  result: T
  lost: string[]
  invalidGrants: number
}

async function checkSessions(stage: Stage, tabs: Page[], scenario: string): Promise<string[]> {
  const lost: string[] = []
  for (const [index, tab] of tabs.entries()) {
    const { holds, why } = await stage.sessionHolds(tab)
    if (!holds) lost.push(`${scenario}, tab ${index + 1}: ${why ?? 'lost'}`)
  }
  return lost
}

const invalidGrantsOf = async (stage: Stage) =>
  (await stage.tokenAnswers()).filter((answer) => answer.error === 'invalid_grant').length

async function idle(
  browser: Browser,
  site: BenchSite,
  settings: RefreshSettings,
  renewLeadSeconds: number,
  tabCount: number,
): Promise<ScenarioOutcome<IdleResult>> {
  const stage = await openStage(browser, site, {
    tokenLifetimeSeconds: settings.tokenLifetimeSeconds,
    renewLeadSeconds,
  })
  try {
    const first = await stage.openTab('/')
    await stage.signIn(first)
    const tabs = [first]
    while (tabs.length < tabCount) tabs.push(await stage.openTab('/'))
    stage.provider.resetRequests()
    const windowSeconds = settings.tokenLifetimeSeconds * settings.idleLifetimes
    await wait(windowSeconds * 1000)
    const refreshRequests = stage.refreshes()
    const lost = await checkSessions(stage, tabs, `${tabCount} idle tab${tabCount === 1 ? '' : 's'}`)
    stage.assertScriptsServed()
    return {
      result: { tabs: tabCount, windowSeconds, refreshRequests, perLifetime: refreshRequests / settings.idleLifetimes },
      lost,
      invalidGrants: await invalidGrantsOf(stage),
    }
  } finally {
    await stage.close()
  }
}

async function burst(
  browser: Browser,
  site: BenchSite,
  settings: RefreshSettings,
  renewLeadSeconds: number,
): Promise<ScenarioOutcome<RefreshResult['burst']>> {
  const stage = await openStage(browser, site, {
    tokenLifetimeSeconds: settings.tokenLifetimeSeconds,
    renewLeadSeconds,
  })
  try {
    const first = await stage.openTab('/')
    await stage.signIn(first)
    const issuedAt = Date.now()
    await first.close()
    // Past the expiry of the token the sign-in issued: a window restored after a while.
    await wait(Math.max(0, issuedAt + (settings.tokenLifetimeSeconds + 1) * 1000 - Date.now()))
    stage.provider.resetRequests()
    const tabs = await Promise.all([0, 1, 2].map(() => stage.context.newPage()))
    const outcomes = await within(
      Promise.all(
        tabs.map(async (tab) => {
          await tab.goto(`${stage.server.origin}/`)
          return tab.evaluate(async (callers) => {
            await window.bench.ready
            return window.bench.burst(callers)
          }, settings.burstCallers)
        }),
      ),
      60_000,
      'the burst',
    )
    await wait(settings.settleMs)
    const refreshRequests = stage.refreshes()
    const errors = outcomes.flatMap((outcome) => outcome.errors)
    const lost = await checkSessions(stage, tabs, 'burst after expiry')
    stage.assertScriptsServed()
    return {
      result: {
        tabs: tabs.length,
        callersPerTab: settings.burstCallers,
        refreshRequests,
        distinctTokens: new Set(outcomes.flatMap((outcome) => outcome.tokens)).size,
        failedCalls: errors.length,
        ...(errors[0] === undefined ? {} : { firstFailure: errors[0] }),
      },
      lost,
      invalidGrants: await invalidGrantsOf(stage),
    }
  } finally {
    await stage.close()
  }
}

/** Waits for every scenario before failing, so that none is left running behind a failure. */
function take<T>(outcome: PromiseSettledResult<T>): T {
  if (outcome.status === 'rejected') throw new Error(firstLine(outcome.reason), { cause: outcome.reason })
  return outcome.value
}

export async function measureRefreshEconomy(
  browser: Browser,
  site: BenchSite,
  settings: RefreshSettings,
): Promise<RefreshResult> {
  // The lead spa-auth takes by default (a quarter of the lifetime, at most 60 s); given to the
  // libraries where it is a setting, so that all renew at the same point of a token's life.
  const renewLeadSeconds = Math.min(60, Math.max(1, Math.round(settings.tokenLifetimeSeconds / 4)))
  const settled = await Promise.allSettled([
    idle(browser, site, settings, renewLeadSeconds, 1),
    idle(browser, site, settings, renewLeadSeconds, 3),
    burst(browser, site, settings, renewLeadSeconds),
  ])
  const [one, three, after] = [take(settled[0]), take(settled[1]), take(settled[2])]
  const why = [...one.lost, ...three.lost, ...after.lost]
  return {
    tokenLifetimeSeconds: settings.tokenLifetimeSeconds,
    renewLeadSeconds,
    idleOneTab: one.result,
    idleThreeTabs: three.result,
    burst: after.result,
    sessions: { tabs: one.result.tabs + three.result.tabs + after.result.tabs, lost: why.length, why },
    invalidGrants: one.invalidGrants + three.invalidGrants + after.invalidGrants,
  }
}

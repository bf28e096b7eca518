/**
 * The default job's chunks, as Chromium fetches them: the app's build served on an origin of its
 * own, a fresh profile and provider, and the job done step by step — a page load signed out, a
 * redirect sign-in with its callback, a refresh with the refresh token, a sign-out through the
 * provider and back — while the server logs every script requested (the page's and its workers').
 * The job is every page chunk requested in any step. The start-up measure records it on its way
 * (with Chromium as it is: refreshes in the refresh worker); for a build with a worker it is
 * recorded once more with `SharedWorker` taken away, as in a browser that has none (refreshes in
 * the page), so that code only a page refresh loads counts too.
 *
 * Recording beats reading the chunk graph: what a step loads depends on what the library's code
 * `import()`s at run time (and preloads in idle time), which no graph says; and it names no module.
 */
import type { Browser, Page } from 'playwright-core'
import { groupOf, type AppBundle } from './app-bundle.js'
import type { ChunkGroup } from './bundle-size.js'
import { MODULE_TABLE, type BenchLibrary } from './libraries.js'
import { firstLine, openStage, wait, within, type BenchSite, type Stage } from './stage.js'

export interface JobSettings {
  /** How long to keep recording after each step (idle-time preloads). */
  settleMs: number
}

/** The job's steps, in order. */
export const JOB_STEPS = ['page load, signed out', 'sign-in and callback', 'refresh', 'sign-out'] as const
export type JobStep = (typeof JOB_STEPS)[number]

/** One recording of the job. */
export interface JobPass {
  /** e.g. `Chromium as it is`. */
  name: string
  /** Scripts requested during each step (paths relative to the site, e.g. `assets/x.js`), and how long it took. */
  steps: { step: JobStep; files: string[]; ms: number }[]
}

/** What the job fetches, read against the build. */
export interface AppJob extends ChunkGroup {
  /** Page chunks first requested in each step of any pass (the first load's under the first step). */
  byStep: { step: JobStep; files: string[] }[]
  /** Worker files requested in each pass. */
  workerFetches: { pass: string; files: string[] }[]
  passes: JobPass[]
}

/** Records, step by step, the scripts a stage's server answered: the page's and its workers'. */
export interface JobRecorder {
  readonly steps: JobPass['steps']
  /** Runs `action`, waits `settleMs` for what loads in idle time after it, and records what was fetched meanwhile. */
  step(name: JobStep, action: () => Promise<void>): Promise<void>
}

export function recordJob(stage: Stage, settleMs: number): JobRecorder {
  const steps: JobPass['steps'] = []
  return {
    steps,
    async step(name, action) {
      const started = performance.now()
      // What a measure between two steps loaded is not the job's.
      const from = stage.server.requests.length
      await action()
      await wait(settleMs)
      const scripts = stage.server.requests
        .slice(from)
        .filter((request) => request.found && request.path.endsWith('.js'))
      steps.push({
        step: name,
        files: [...new Set(scripts.map((request) => request.path.replace(/^\//, '')))],
        ms: Math.round(performance.now() - started),
      })
    },
  }
}

/** Runs `fn` in the page, which it may leave (signOut navigates away). */
async function evaluateLeaving(page: Page, fn: () => Promise<void>): Promise<void> {
  try {
    await page.evaluate(fn)
  } catch (error) {
    if (!/Execution context was destroyed|Target page, context or browser has been closed/.test(String(error)))
      throw error
  }
}

/** The job's refresh: `refresh()` in the page; throws unless a refresh_token grant reached the provider. */
export async function refreshStep(stage: Stage, page: Page): Promise<void> {
  const before = stage.refreshes()
  await within(
    page.evaluate(() => window.bench.client.refresh()),
    30_000,
    'refresh()',
  )
  if (stage.refreshes() === before) throw new Error('refresh() sent no refresh_token grant to the provider')
}

/** The job's sign-out, through the provider's confirmation page; waits for the app again (or the provider's "signed out"). */
export async function signOutStep(stage: Stage, page: Page): Promise<void> {
  const origin = stage.server.origin
  await evaluateLeaving(page, () => window.bench.client.signOut())
  const confirm = page.locator('button[name="logout"][value="yes"]')
  await confirm.waitFor({ timeout: 30_000 })
  await Promise.all([
    // auth0-spa-js sends `returnTo`, which oidc-provider does not know: it stays on its "signed out" page.
    page.waitForURL((url) => url.origin === origin || url.pathname.endsWith('/success'), { timeout: 30_000 }),
    confirm.click(),
  ])
  if (new URL(page.url()).origin === origin)
    await within(
      page.evaluate(() => window.bench.ready),
      30_000,
      'start-up',
    )
}

/** The name of the recording the start-up measure makes on its way (see start-up.ts). */
export const AS_IT_IS = 'Chromium as it is'

/**
 * The job once more, without `SharedWorker` (refreshes in the page, as in a browser without it),
 * for a build with a worker; `undefined` for a build without one.
 */
export async function recordJobWithoutWorker(
  browser: Browser,
  site: BenchSite,
  settings: JobSettings,
): Promise<JobPass | undefined> {
  if (site.build.workers.length === 0) return undefined
  const stage = await openStage(browser, site, { withoutSharedWorker: true })
  try {
    const recorder = recordJob(stage, settings.settleMs)
    let page: Page | undefined
    await recorder.step('page load, signed out', async () => void (page = await stage.openTab('/')))
    await recorder.step('sign-in and callback', () => stage.signIn(page!))
    await recorder.step('refresh', () => refreshStep(stage, page!))
    await recorder.step('sign-out', () => signOutStep(stage, page!))
    stage.assertScriptsServed()
    return { name: 'Chromium without SharedWorker (refreshes in the page)', steps: recorder.steps }
  } catch (error) {
    const errors = stage.pageErrors.length > 0 ? ` (page errors: ${stage.pageErrors.join('; ')})` : ''
    throw new Error(`without SharedWorker: ${firstLine(error)}${errors}`, { cause: error })
  } finally {
    await stage.close()
  }
}

/**
 * The job's page chunks from a recording: the first load, and every page chunk requested in any
 * step. Throws when the recording cannot be right (a first-load chunk not requested by the page
 * load, a script that is not in the build) and when the library's table places a module in the
 * job that none of the job's chunks carries.
 */
export async function jobOf(
  library: BenchLibrary,
  outDir: string,
  bundle: AppBundle,
  recording: { passes: JobPass[] },
): Promise<AppJob> {
  const buildOf = new Map(bundle.chunks.map((chunk) => [chunk.file, chunk.build]))
  for (const pass of recording.passes) {
    const unknown = pass.steps.flatMap((step) => step.files).filter((file) => !buildOf.has(file))
    if (unknown.length > 0) throw new Error(`${pass.name}: Chromium fetched ${unknown.join(', ')}, not in the build`)
    const loaded = pass.steps[0]!.files
    const missed = bundle.firstLoad.files.filter((file) => !loaded.includes(file))
    if (missed.length > 0)
      throw new Error(`${pass.name}: the page load did not fetch ${missed.join(', ')} of the first load`)
  }
  const files: string[] = [...bundle.firstLoad.files]
  const byStep = JOB_STEPS.map((step) => {
    const fetched = recording.passes.flatMap((pass) => pass.steps.find((item) => item.step === step)?.files ?? [])
    const fresh = [...new Set(fetched)].filter((file) => buildOf.get(file) === 'page' && !files.includes(file))
    files.push(...fresh)
    return { step, files: step === JOB_STEPS[0] ? [...bundle.firstLoad.files, ...fresh] : fresh }
  })
  const carried = new Set(
    bundle.chunks.filter((chunk) => files.includes(chunk.file)).flatMap((chunk) => chunk.modules.map((m) => m.path)),
  )
  const stray = Object.entries(library.modules?.job ?? {}).filter(([module]) => !carried.has(module))
  if (stray.length > 0) {
    throw new Error(
      `${MODULE_TABLE} places ${stray.map(([module, use]) => `${module} (${use})`).join(', ')} in the job, but no ` +
        'chunk Chromium fetched during the job carries it: point the table at the modules that do this now',
    )
  }
  return {
    ...(await groupOf(outDir, bundle.chunks, files)),
    byStep,
    workerFetches: recording.passes.map((pass) => ({
      pass: pass.name,
      files: [...new Set(pass.steps.flatMap((step) => step.files))].filter((file) => buildOf.get(file) === 'worker'),
    })),
    passes: recording.passes,
  }
}

/**
 * The page side of the benchmark: starts one library's bench client with the configuration the
 * runner put on `window.BENCH_CONFIG`, and exposes `window.bench` for the runner's `evaluate`.
 */
import type { BenchClient, BenchClientConfig, CreateBenchClient } from '../clients/bench-client.js'

/** What the runner reads and drives in the page. */
export interface BenchPage {
  client: BenchClient
  /** Settles once the client has loaded its session and completed a sign-in response in the address bar. */
  ready: Promise<void>
  /** `performance.now()` (ms since navigation start) when start-up ended signed in; `null` otherwise. */
  signedInAt: number | null
  /** When the last script fetched by the end of start-up arrived (ms since navigation start). */
  scriptsFetchedAt: number | null
  startError: string | null
  /** Sequential `getAccessToken()` calls for about `durationMs`; resolves calls per second. */
  hotPath(durationMs: number): Promise<number>
  /** `callers` concurrent `getAccessToken()` calls; resolves the distinct tokens and the failures. */
  burst(callers: number): Promise<{ tokens: string[]; errors: string[] }>
}

/** Where the runner puts the configuration before any script of the page runs. */
export interface BenchWindowConfig {
  issuer: string
  clientId: string
  renewLeadSeconds?: number
}

declare global {
  interface Window {
    bench: BenchPage
    BENCH_CONFIG: BenchWindowConfig
  }
}

/** When the last script of this origin fetched so far arrived (resource timing), ms since navigation start. */
function lastScriptAt(): number {
  const scripts = performance
    .getEntriesByType('resource')
    .filter((entry) => entry.name.startsWith(location.origin) && entry.name.endsWith('.js'))
  return Math.max(0, ...scripts.map((entry) => (entry as PerformanceResourceTiming).responseEnd))
}

const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error))

export function startBenchPage(createBenchClient: CreateBenchClient): void {
  const { issuer, clientId, renewLeadSeconds } = window.BENCH_CONFIG
  const config: BenchClientConfig = {
    issuer,
    clientId,
    redirectUri: `${location.origin}/callback`,
    postLogoutRedirectUri: `${location.origin}/`,
    ...(renewLeadSeconds === undefined ? {} : { renewLeadSeconds }),
  }
  const client = createBenchClient(config)
  const page: BenchPage = {
    client,
    signedInAt: null,
    scriptsFetchedAt: null,
    startError: null,
    ready: client.start().then(
      (signedIn) => {
        page.signedInAt = signedIn ? performance.now() : null
        page.scriptsFetchedAt = lastScriptAt()
      },
      (error: unknown) => void (page.startError = describe(error)),
    ),
    async hotPath(durationMs) {
      const started = performance.now()
      let calls = 0
      let now = started
      while (now - started < durationMs) {
        for (let i = 0; i < 200; i++) await client.getAccessToken()
        calls += 200
        now = performance.now()
      }
      return calls / ((now - started) / 1000)
    },
    async burst(callers) {
      const settled = await Promise.allSettled(Array.from({ length: callers }, () => client.getAccessToken()))
      const tokens = new Set<string>()
      const errors: string[] = []
      for (const result of settled) {
        if (result.status === 'fulfilled') tokens.add(result.value)
        else errors.push(describe(result.reason))
      }
      return { tokens: [...tokens], errors }
    },
  }
  window.bench = page
}

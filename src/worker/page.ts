/**
 * The page's side of the refresh worker: each refresh is asked of the worker, which the browser
 * keeps alive after the page (so a reload or a closed tab cannot abort a refresh after the provider
 * rotated the refresh token) — a SharedWorker where it outlives its pages, else a service worker —
 * and the page runs the very same transaction itself where the worker cannot: it did not start or
 * register, it did not answer in time, it speaks another version. Both take the session's Web Lock
 * and re-read the record inside it, so they never both spend one refresh token.
 */
import type { HostEnvironment, RefreshPlace, WorkerConnection } from '../platform/environment.js'
import { disposedError } from '../platform/calls.js'
import type { ResolvedConfig } from '../protocol/config.js'
import { settle } from '../session/outcome.js'
import { runRefresh, type RefreshContext, type RefreshOutcome } from '../session/refresh.js'
import type { Refresher } from '../session/refresh-code.js'
import { fromWire, plainConfig, WORKER_PROTOCOL, type WorkerAnswer, type WorkerRequest } from './messages.js'
import { openServiceWorker } from './service-worker-link.js'

/**
 * How many provider round trips a page waits for before refreshing by itself: discovery, the
 * grant, a key set fetched for a new signing key and a DPoP nonce retry, each within
 * `requestTimeoutMs`.
 */
const ROUND_TRIPS_PER_REFRESH = 4

/**
 * The refresher of one page, where the session decided (`place`): through the SharedWorker that
 * outlives its pages, or through the service worker; else (and as the fallback) in the page.
 */
export function createRefresher(
  context: RefreshContext,
  options: {
    /** Where the session decided its refreshes run. */
    place: RefreshPlace
    config: ResolvedConfig
    env: Pick<HostEnvironment, 'refreshServiceWorkers' | 'openRefreshWorker' | 'setTimeout' | 'clearTimeout'>
  },
): Refresher {
  const { config, env } = options
  const plain = plainConfig(config)
  const host = options.place
  let link: WorkerLink | undefined
  let broken = host === 'page'
  let disposed = false

  function start(): WorkerConnection | undefined {
    try {
      if (host === 'worker') return (env.openRefreshWorker ?? openSharedWorker)()
      const container = env.refreshServiceWorkers()
      // Registering takes one request for the script and its install: a provider round trip's time.
      const activationTimeoutMs = config.requestTimeoutMs
      return container && openServiceWorker(container, { ...env, activationTimeoutMs })
    } catch {
      // A worker this page may not start (a Content-Security-Policy without worker-src): it refreshes itself.
      return undefined
    }
  }

  function open(): WorkerLink | undefined {
    if (broken || disposed) return undefined
    link ??= connect(start(), {
      ...env,
      answerTimeoutMs: config.requestTimeoutMs * ROUND_TRIPS_PER_REFRESH,
      onBroken: () => void (broken = true),
    })
    if (link === undefined) broken = true
    return link
  }

  return {
    async run(request, own) {
      const worker = open()
      const answer = worker && (await worker.ask({ v: WORKER_PROTOCOL, id: 0, config: plain, request }))
      // After dispose() nothing more is sent, not even the page's own refresh.
      if (disposed) throw disposedError()
      return settle(answer ?? (await runRefresh(context, request)), own)
    },
    get where() {
      return broken ? 'page' : host
    },
    warm() {
      if (open() === undefined) void context.provider().catch(() => {})
    },
    dispose() {
      disposed = true
      link?.close()
    },
  }
}

interface WorkerLink {
  /** The worker's outcome; `undefined` when it cannot give one and the page must refresh itself. */
  ask(request: WorkerRequest): Promise<RefreshOutcome | undefined>
  close(): void
}

function connect(
  opened: WorkerConnection | undefined,
  options: Pick<HostEnvironment, 'setTimeout' | 'clearTimeout'> & { answerTimeoutMs: number; onBroken(): void },
): WorkerLink | undefined {
  if (opened === undefined) return undefined
  const connection = opened
  const waiting = new Map<number, (answer: WorkerAnswer | undefined) => void>()
  let nextId = 1
  const breakAll = () => {
    options.onBroken()
    for (const settle of [...waiting.values()]) settle(undefined)
  }
  const stopAnswers = connection.onMessage((message) => {
    const answer = message as Partial<WorkerAnswer> | undefined
    if (typeof answer?.id === 'number') waiting.get(answer.id)?.(answer as WorkerAnswer)
  })
  const stopErrors = connection.onError(breakAll)

  function ask(request: WorkerRequest): Promise<RefreshOutcome | undefined> {
    const id = nextId++
    return new Promise((resolve) => {
      // A worker that misses an answer is not waited for again: this page refreshes by itself.
      const timer = options.setTimeout(breakAll, options.answerTimeoutMs)
      waiting.set(id, (answer) => {
        options.clearTimeout(timer)
        waiting.delete(id)
        resolve(answer === undefined ? undefined : outcomeOf(answer, options.onBroken))
      })
      try {
        connection.postMessage({ ...request, id })
      } catch {
        // What cannot be cloned for the worker is refreshed here, this time.
        waiting.get(id)?.(undefined)
      }
    })
  }

  return {
    ask,
    close() {
      for (const settle of [...waiting.values()]) settle(undefined)
      stopAnswers()
      stopErrors()
      connection.close()
    },
  }
}

/** The outcome an answer carries; `undefined` for one the page must not use (and a worker of another version is left for good). */
function outcomeOf(answer: WorkerAnswer, onBroken: () => void): RefreshOutcome | undefined {
  if (answer.v !== WORKER_PROTOCOL || 'mismatch' in answer) {
    onBroken()
    return undefined
  }
  return 'outcome' in answer ? fromWire(answer.outcome) : undefined
}

/** Starts (or joins) the SharedWorker the library ships, with `extendedLifetime`. */
function openSharedWorker(): WorkerConnection | undefined {
  if (typeof SharedWorker !== 'function') return undefined
  // Kept as one expression with literal options, so the app's bundler (Vite, webpack 5) finds and
  // bundles the worker. The name carries WORKER_PROTOCOL: a page never joins a worker of another version.
  const worker = new SharedWorker(new URL('./entry.ts', import.meta.url), {
    type: 'module',
    name: 'spa-auth-refresh@2',
    extendedLifetime: true,
  } as WorkerOptions)
  const { port } = worker
  port.start()
  return {
    postMessage: (message) => port.postMessage(message),
    onMessage(listener) {
      const handler = (event: MessageEvent) => listener(event.data)
      port.addEventListener('message', handler)
      return () => port.removeEventListener('message', handler)
    },
    onError(listener) {
      worker.addEventListener('error', listener)
      return () => worker.removeEventListener('error', listener)
    },
    close: () => port.close(),
  }
}

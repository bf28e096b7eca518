import type { AuthConfig } from '../protocol/config.js'
import type { WorkerConnection } from '../platform/environment.js'
import { AuthError, type AuthErrorCode } from '../platform/errors.js'
import { singleFlight, type RefreshOptions, type Refresher } from '../session/refresher.js'
import type { SessionEvent, SignedOutReason } from '../session/machine.js'
import type { SessionRecord } from '../session/record.js'

/** What a page asks the refresh worker. */
export interface WorkerRequest {
  id: number
  type: 'refresh'
  /** The app's configuration, as given to `createAuthClient`: the worker resolves it itself. */
  config: AuthConfig
  options: RefreshOptions & { seen: SessionRecord }
}

/** What the worker answers; the record itself is read from the store. */
export type WorkerAnswer =
  | { id: number; ok: true }
  | { id: number; ok: false; error: { code: AuthErrorCode; message: string }; ended?: SignedOutReason }

/**
 * A {@link Refresher} that has the refresh worker do the work, so that leaving the page cannot
 * abort it; the page then reads the committed record. Where the worker cannot run (its script did
 * not load) or does not answer in time, the page's own refresher takes over: both take the
 * session's Web Lock and re-read the record inside it, so they can never both spend one refresh
 * token.
 */
export function createWorkerRefresher(deps: {
  connection: WorkerConnection
  config: AuthConfig
  local: Refresher
  seen(): SessionRecord | undefined
  dispatch(event: SessionEvent): void
  /** Reads the stored record into this page. */
  reload(): Promise<SessionRecord | undefined>
  /** How long an answer may take before this page refreshes by itself. */
  answerTimeoutMs: number
  setTimeout(callback: () => void, delayMs: number): unknown
  clearTimeout(handle: unknown): void
}): Refresher & { readonly inWorker: boolean; close(): void } {
  const waiting = new Map<number, (answer: WorkerAnswer | undefined) => void>()
  let broken = false
  let nextId = 1

  const stopAnswers = deps.connection.onMessage((message) => {
    const answer = message as WorkerAnswer
    waiting.get(answer.id)?.(answer)
  })
  const stopErrors = deps.connection.onError(() => {
    broken = true
    for (const settle of waiting.values()) settle(undefined)
  })

  /** The worker's answer, or `undefined` when it cannot give one (broken, or too slow). */
  function ask(options: WorkerRequest['options']): Promise<WorkerAnswer | undefined> {
    const id = nextId++
    return new Promise((resolve) => {
      // A worker that misses an answer is not waited for again: this page refreshes by itself.
      const timer = deps.setTimeout(() => {
        broken = true
        settle(undefined)
      }, deps.answerTimeoutMs)
      const settle = (answer: WorkerAnswer | undefined) => {
        deps.clearTimeout(timer)
        waiting.delete(id)
        resolve(answer)
      }
      waiting.set(id, settle)
      deps.connection.postMessage({ id, type: 'refresh', config: deps.config, options } satisfies WorkerRequest)
    })
  }

  async function viaWorker(options: RefreshOptions): Promise<SessionRecord> {
    const seen = options.seen ?? deps.seen()
    if (seen === undefined) throw new AuthError('not_signed_in', 'Nobody is signed in; call signIn() first.')
    const answer = broken ? undefined : await ask({ ...options, seen })
    if (answer === undefined) return deps.local.refresh(options)
    const record = await deps.reload()
    if (answer.ok) {
      if (record === undefined) throw new AuthError('not_signed_in', 'The session was ended while it was refreshed.')
      return record
    }
    const error = new AuthError(answer.error.code, answer.error.message)
    if (answer.ended) deps.dispatch({ type: 'ended', reason: answer.ended, error, generation: seen.generation })
    throw error
  }

  return {
    get inWorker() {
      return !broken
    },
    refresh: singleFlight(viaWorker),
    close() {
      broken = true
      stopAnswers()
      stopErrors()
      deps.connection.close()
    },
  }
}

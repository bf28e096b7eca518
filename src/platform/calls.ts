import { AuthError } from './errors.js'

/**
 * The calls of one client in flight, so that disposing of the client settles every one of them
 * with `disposed`, and every later call rejects at once.
 */
export interface Calls {
  /** `call()`, or a rejection with `disposed` once disposed. */
  ifLive<R>(call: () => Promise<R>): Promise<R>
  /** `work`, settled with `disposed` if the client is disposed first. */
  track<R>(work: Promise<R>): Promise<R>
  /** `action` as a call: rejects at once once disposed, and is tracked while it runs. */
  live<A extends unknown[], R>(action: (...args: A) => Promise<R>): (...args: A) => Promise<R>
  /** Aborted at dispose: for work that must stop (a popup to close). */
  readonly signal: AbortSignal
  dispose(): void
}

export function createCalls(): Calls {
  const pending = new Set<(error: AuthError) => void>()
  const disposal = new AbortController()
  const ifLive = <R>(call: () => Promise<R>): Promise<R> =>
    disposal.signal.aborted ? Promise.reject(disposedError()) : call()
  function track<R>(work: Promise<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      pending.add(reject)
      work.then(resolve, reject).finally(() => pending.delete(reject))
    })
  }
  return {
    ifLive,
    track,
    live:
      (action) =>
      (...args) =>
        ifLive(() => track(action(...args))),
    signal: disposal.signal,
    dispose() {
      disposal.abort()
      for (const reject of [...pending]) reject(disposedError())
      pending.clear()
    },
  }
}

export function disposedError(): AuthError {
  return new AuthError('disposed', 'This client was disposed; create a new one.')
}

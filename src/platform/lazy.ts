import { AuthError } from './errors.js'

/** Code that loads on first use: `get()` loads it (once at a time), `value` is there once it loaded. */
export interface Lazy<T> {
  /**
   * The loaded value. Concurrent callers share one load; a load that failed is forgotten, so the
   * next call tries again (a network blip, a laptop waking offline, a deploy that removed the old
   * chunk: the next attempt may find it back). A caller that joined a load already on its way tries
   * once more when that one fails.
   *
   * @throws AuthError `chunk_load_failed`.
   */
  get(): Promise<T>
  /** The value once a load succeeded, else `undefined`: for callers that must not wait for code. */
  readonly value: T | undefined
}

/**
 * The one loader of the library's code chunks: every `import()` goes through it. `what` names the
 * code for the error message ("the refresh code").
 */
export function lazy<T>(load: () => Promise<T>, what: string): Lazy<T> {
  let loading: Promise<T> | undefined
  let value: T | undefined
  const start = (): Promise<T> => {
    const attempt: Promise<T> = load().then(
      (loaded) => (value = loaded),
      (cause: unknown) => {
        if (loading === attempt) loading = undefined
        throw chunkLoadFailed(what, cause)
      },
    )
    loading = attempt
    return attempt
  }
  return {
    get() {
      if (loading === undefined) return start()
      // A load already on its way may have started while the network was down (an idle-time
      // load): when it fails, a caller that joined it tries once on its own (sharing that attempt).
      return loading.catch(() => loading ?? start())
    },
    get value() {
      return value
    },
  }
}

function chunkLoadFailed(what: string, cause: unknown): AuthError {
  return new AuthError(
    'chunk_load_failed',
    `Could not load ${what} of spa-auth (the network failed, or a new deploy removed the file this page was built with). It is loaded again at the next attempt; if it keeps failing, reload the page (Firefox keeps a failed load until the page reloads).`,
    { cause },
  )
}

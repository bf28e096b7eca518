import { onTestFinished } from 'vitest'

/**
 * Records the rejections nothing handled, as the process reports them, from now on within the
 * running test. `after(ms)` lets the promises started meanwhile settle for `ms` (so an unhandled
 * rejection has been reported), stops recording and resolves what it recorded; recording stops
 * when the test finishes at the latest. While it records, Vitest leaves such rejections to the
 * test and does not report them itself, so a test checks the list.
 */
export function recordUnhandledRejections() {
  const rejections: unknown[] = []
  const record = (reason: unknown) => void rejections.push(reason)
  const stop = () => void process.off('unhandledRejection', record)
  process.on('unhandledRejection', record)
  onTestFinished(stop)
  return {
    async after(ms: number): Promise<unknown[]> {
      await new Promise((resolve) => setTimeout(resolve, ms))
      stop()
      return rejections
    },
  }
}

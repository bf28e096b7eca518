/**
 * Whether this browser keeps a SharedWorker alive after its last page (`extendedLifetime`). A
 * browser that knows the option reads it while converting the options, before it parses the
 * (deliberately invalid) URL and throws: nothing is started.
 */
export function sharedWorkersOutlivePages(): boolean {
  let known = false
  const probe = {
    get extendedLifetime() {
      known = true
      return true
    },
  }
  try {
    new SharedWorker('http://[', probe as WorkerOptions)
  } catch {
    // The invalid URL: the point was the option.
  }
  return known
}

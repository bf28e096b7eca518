/**
 * Whether the page is going away (a reload, a navigation, a closed tab): a request that fails then
 * was cut off by the page itself, not by the network or the provider, and is no failure to record.
 */
/** Set from `pagehide` until a `pageshow` (a page restored from the back/forward cache). */
let hidden = false
/** The last `beforeunload` and when it fired (`performance.now()`). */
let leaving: { event: BeforeUnloadEvent; at: number } | undefined
let watchingUnload = false
/** How long after a `beforeunload` a failed request is still taken for one the navigation cut off. */
const LEAVING_MS = 2_000

/** Follows whether the page is going away; from the first environment on, once per page. */
export function watchUnload(): void {
  if (watchingUnload || typeof window === 'undefined' || typeof window.addEventListener !== 'function') return
  watchingUnload = true
  window.addEventListener('beforeunload', (event) => void (leaving = { event, at: performance.now() }))
  window.addEventListener('pagehide', () => void (hidden = true))
  window.addEventListener('pageshow', () => {
    hidden = false
    leaving = undefined
  })
}

/**
 * Whether the page is going away. Firefox cuts the page's requests off as soon as a navigation
 * away starts, after `beforeunload` and before `pagehide`; Chromium after `pagehide`. So a
 * `beforeunload` that nothing cancelled counts too, for a moment only: the page stays when the
 * navigation turns out to be a download or a 204, and its later failures are real ones.
 */
export function pageUnloading(): boolean {
  if (hidden) return true
  if (leaving === undefined || performance.now() - leaving.at > LEAVING_MS) return false
  const { event } = leaving
  // A page that asked to stay (a prompt) leaves only if the person says so, at a time nobody knows.
  const prompted = event.defaultPrevented || (typeof event.returnValue === 'string' && event.returnValue !== '')
  return !prompted
}

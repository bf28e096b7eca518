/**
 * Serves a built bench app the way the browser tests serve theirs (every path that is not a file
 * serves index.html; `cache-control: no-store`, so each reload fetches every file again;
 * http://localhost on the IPv4 and IPv6 loopback, one port) and keeps a log of every request,
 * whoever made it: the page, or a worker — Chromium does not report a shared worker's own requests
 * to the page's network events, the server sees them all.
 */
import { serveStatic } from '../browser/support/app-server.js'

/** One request the server answered. */
export interface SiteRequest {
  /** The path without query, e.g. `/assets/index-7tDoh1NX.js`. */
  path: string
  /** Whether a file answered it (otherwise index.html did). */
  found: boolean
}

export interface SiteServer {
  /** e.g. http://localhost:43121 */
  origin: string
  /** Every request so far, in the order they arrived. */
  requests: SiteRequest[]
  close(): Promise<void>
}

/** Serves `dir` on a free port until `close()`. */
export async function serveSite(dir: string): Promise<SiteServer> {
  const requests: SiteRequest[] = []
  const server = await serveStatic(dir, { onRequest: (path, found) => void requests.push({ path, found }) })
  return { ...server, requests }
}

/**
 * Serves a built bench app the way the browser tests do (every path that is not a file serves
 * index.html; `cache-control: no-store`, so each reload fetches every file again; http://localhost
 * on the IPv4 and IPv6 loopback, one port) and keeps a log of every request, whoever made it: the
 * page, or a worker — Chromium does not report a shared worker's own requests to the page's
 * network events, the server sees them all.
 */
import { readFile, stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, resolve, sep } from 'node:path'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
}

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

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, port: number, host: string) {
  return new Promise<Server>((resolveListen, reject) => {
    const server = createServer(handler)
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolveListen(server)
    })
  })
}

const closeAll = (servers: Server[]) =>
  Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((done) => {
          server.close(() => done())
          server.closeAllConnections()
        }),
    ),
  ).then(() => undefined)

/** Serves `dir` on a free port until `close()`. */
export async function serveSite(dir: string): Promise<SiteServer> {
  const root = resolve(dir)
  const requests: SiteRequest[] = []
  const handler = (req: IncomingMessage, res: ServerResponse) =>
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)
      const candidate = resolve(root, `.${path}`)
      const found =
        candidate.startsWith(root + sep) && (await stat(candidate).catch(() => undefined))?.isFile() === true
      requests.push({ path, found })
      const file = found ? candidate : join(root, 'index.html')
      try {
        const body = await readFile(file)
        res.writeHead(200, {
          'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
          'cache-control': 'no-store',
        })
        res.end(body)
      } catch (error) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
        res.end(String(error))
      }
    })()

  for (let attempt = 0; ; attempt++) {
    const servers = [await listen(handler, 0, '127.0.0.1')]
    const { port } = servers[0]!.address() as AddressInfo
    try {
      servers.push(await listen(handler, port, '::1'))
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE' && attempt < 5) {
        await closeAll(servers)
        continue // someone holds this port on IPv6: pick another one
      }
      if (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT') {
        await closeAll(servers)
        throw error
      }
    }
    for (const server of servers) server.unref()
    return { origin: `http://localhost:${port}`, requests, close: () => closeAll(servers) }
  }
}

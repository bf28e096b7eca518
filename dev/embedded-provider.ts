/**
 * The OpenID Provider of `npm run dev`: the test suite's oidc-provider (test/support/provider.ts)
 * mounted under /oidc on Vite's dev server, with a sign-in page for a person, and /api/profile, an
 * API that takes its access tokens — so the playground and the examples sign in with no account
 * anywhere. Off when VITE_AUTH_ISSUER names a provider of your own, and under Vitest.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import { runnerImport, type Plugin, type ViteDevServer } from 'vite'

type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void

const PROVIDER_MODULE = fileURLToPath(new URL('../test/support/provider.ts', import.meta.url))
/** The path of the issuer on the dev server's origin. */
export const ISSUER_PATH = '/oidc'
/** The API the examples call with `auth.fetch`: it answers with the token's user. */
export const API_PATH = '/api/profile'
/**
 * oidc-provider 9 prints this when it is loaded on Node 20: it asks for Node 22, yet runs on 20,
 * which this repository supports (`engines`) and on which its tests run the same provider.
 */
const RUNTIME_NOTICE = 'oidc-provider WARNING: Unsupported runtime'

/** Mounts the provider (client id `spa-test`, redirect URIs `/callback` and `/` of the dev server's origin). */
export function embeddedProvider(): Plugin {
  let enabled = true
  return {
    name: 'spa-auth:embedded-provider',
    apply: 'serve',
    configResolved(config) {
      enabled = !config.env['VITE_AUTH_ISSUER'] && !process.env['VITEST']
    },
    configureServer(server) {
      if (!enabled) return
      let provider: Promise<Middleware> | undefined
      server.middlewares.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
        const path = req.url?.split('?')[0] ?? ''
        if (path === API_PATH)
          return void answerApi(server, req, res).catch((error: unknown) => fail(server, res, error))
        if (path !== ISSUER_PATH && !path.startsWith(`${ISSUER_PATH}/`)) return next()
        // Loaded with the first request, when the server knows its origin (the port may be any).
        provider ??= loadProvider(originOf(server))
        provider.then(
          (handle) => handle(req, res, next),
          (error: unknown) => fail(server, res, error),
        )
      })
    },
  }
}

async function loadProvider(origin: string): Promise<Middleware> {
  const { module } = await quietly(() =>
    runnerImport<typeof import('../test/support/provider.js')>(PROVIDER_MODULE, {
      configFile: false,
      logLevel: 'silent',
    }),
  )
  return module.createProviderMiddleware(origin, {
    profile: 'authing-like',
    interactions: 'sign-in-page',
    accessTokenTtlSeconds: 60,
    redirectUris: [`${origin}/callback`, `${origin}/`],
    postLogoutRedirectUris: [`${origin}/`],
  })
}

/** Runs `load` with oidc-provider's notice about the Node version left out of the console. */
async function quietly<T>(load: () => Promise<T>): Promise<T> {
  const warn = console.warn
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes(RUNTIME_NOTICE)) warn(...args)
  }
  try {
    return await load()
  } finally {
    console.warn = warn
  }
}

/** `GET /api/profile`: the userinfo of the request's access token, or 401 — an API checks a token no differently. */
async function answerApi(server: ViteDevServer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const authorization = req.headers.authorization
  const userinfo = authorization
    ? await fetch(`${originOf(server)}${ISSUER_PATH}/me`, { headers: { authorization } }).catch(() => undefined)
    : undefined
  res.setHeader('Cache-Control', 'no-store')
  if (userinfo?.ok !== true) {
    res.statusCode = 401
    res.setHeader('WWW-Authenticate', 'Bearer')
    return void res.end()
  }
  const { sub, name } = (await userinfo.json()) as Record<string, unknown>
  res.setHeader('Content-Type', 'application/json')
  res.end(JSON.stringify({ sub, name }))
}

function fail(server: ViteDevServer, res: ServerResponse, error: unknown): void {
  server.config.logger.error(
    `[embedded provider] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  )
  res.statusCode = 500
  res.end('The embedded provider failed; see the dev server output.')
}

function originOf(server: ViteDevServer): string {
  const url = server.resolvedUrls?.local[0]
  if (url === undefined) throw new Error('The dev server is not listening yet.')
  return new URL(url).origin
}

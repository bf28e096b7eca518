/**
 * Where one measure runs: a library's Vite app build served on an origin of its own (each stage
 * its own server, so its request log is its own), a fresh oidc-provider ('strict' profile:
 * refresh tokens rotate, reuse revokes the grant) and a fresh browser profile (own IndexedDB,
 * localStorage, Web Locks) configured to use that provider.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { startTestProvider, type ProviderRequest, type TestProvider } from '../support/provider.js'
import type { BenchWindowConfig } from './app/harness.js'
import type { BenchLibrary } from './libraries.js'
import { serveSite, type SiteServer } from './site-server.js'
import type { AppBuild } from './vite-app.js'

export const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Rejects with a message naming `what` when `promise` takes longer than `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** A library and its built bench app: what every stage of that library serves. */
export interface BenchSite {
  library: BenchLibrary
  build: AppBuild
}

interface Discovery {
  authorization_endpoint: string
  token_endpoint: string
  jwks_uri: string
  userinfo_endpoint: string
}

/** What a request to the provider was for. */
export type RequestKind = 'redirect' | 'token' | 'discovery' | 'jwks' | 'userinfo' | 'preflight' | 'other'

/** One token-endpoint answer the browser received. */
export interface TokenAnswer {
  status: number
  /** The OAuth `error` of a failed answer, when it has one. */
  error?: string
}

export interface Stage {
  site: BenchSite
  /** The app's server on this stage's origin, with every request it answered. */
  server: SiteServer
  provider: TestProvider
  context: BrowserContext
  /** Every token-endpoint answer the browser received so far. */
  tokenAnswers(): Promise<TokenAnswer[]>
  /** Uncaught errors of the pages, for the notes when a measure fails. */
  pageErrors: string[]
  /**
   * Throws when a page or worker asked for a script the build does not have (the server answered
   * with index.html): a missing chunk or refresh worker would otherwise go unnoticed, the library
   * quietly falling back.
   */
  assertScriptsServed(): void
  /** refresh_token grants the provider received since the last `provider.resetRequests()`. */
  refreshes(): number
  kindOf(request: ProviderRequest): RequestKind
  /** Opens a tab on the site and waits until its client has started. */
  openTab(path?: string): Promise<Page>
  /** Signs in from `page` through the provider's auto-approving interaction and waits until the client has started signed in. */
  signIn(page: Page): Promise<void>
  /** Whether the session of `page` still works: a token comes out and the provider accepts it at userinfo. */
  sessionHolds(page: Page): Promise<{ holds: boolean; why?: string }>
  close(): Promise<void>
}

export interface StageOptions {
  /** Access-token lifetime the provider issues. Default 3600 s. */
  tokenLifetimeSeconds?: number
  renewLeadSeconds?: number
  /** Takes `SharedWorker` and service workers away from the pages, as in a browser without them: refreshes run in the page. */
  withoutSharedWorker?: boolean
}

const CLIENT_START_MS = 30_000

export async function openStage(browser: Browser, site: BenchSite, options: StageOptions = {}): Promise<Stage> {
  const server = await serveSite(site.build.outDir)
  const origin = server.origin
  const provider = await startTestProvider({
    profile: 'strict',
    ...(options.tokenLifetimeSeconds === undefined ? {} : { accessTokenTtlSeconds: options.tokenLifetimeSeconds }),
    redirectUris: [`${origin}/callback`],
    postLogoutRedirectUris: [`${origin}/`],
    ...site.library.provider,
  }).catch(async (error: unknown) => {
    await server.close()
    throw error
  })
  const discoveryUrl = new URL(
    '.well-known/openid-configuration',
    provider.issuer.endsWith('/') ? provider.issuer : `${provider.issuer}/`,
  )
  const discovery = (await (await fetch(discoveryUrl)).json()) as Discovery
  provider.resetRequests()
  const path = (url: string) => new URL(url).pathname
  const paths = {
    authorization: path(discovery.authorization_endpoint),
    token: path(discovery.token_endpoint),
    jwks: path(discovery.jwks_uri),
    userinfo: path(discovery.userinfo_endpoint),
    discovery: discoveryUrl.pathname,
  }

  const context = await browser.newContext()
  const config: BenchWindowConfig = {
    issuer: provider.issuer,
    clientId: provider.clientId,
    ...(options.renewLeadSeconds === undefined ? {} : { renewLeadSeconds: options.renewLeadSeconds }),
  }
  await context.addInitScript((config) => void (window.BENCH_CONFIG = config), config)
  if (options.withoutSharedWorker === true)
    await context.addInitScript(() => {
      delete (globalThis as { SharedWorker?: unknown }).SharedWorker
      // Nor service workers, where the library would register its refresh service worker instead.
      delete (Navigator.prototype as { serviceWorker?: unknown }).serviceWorker
    })

  const tokenAnswers: TokenAnswer[] = []
  const pendingAnswers: Promise<void>[] = []
  context.on('response', (response) => {
    if (response.url() !== discovery.token_endpoint || response.request().method() !== 'POST') return
    const answer: TokenAnswer = { status: response.status() }
    tokenAnswers.push(answer)
    if (answer.status >= 400) {
      pendingAnswers.push(
        response.json().then(
          (body: { error?: unknown }) => void (typeof body.error === 'string' && (answer.error = body.error)),
          () => undefined,
        ),
      )
    }
  })
  const pageErrors: string[] = []
  context.on('weberror', (error) => pageErrors.push(String(error.error())))

  const ready = async (page: Page) => {
    await within(
      page.evaluate(() => window.bench.ready),
      CLIENT_START_MS,
      `${site.library.id}: starting the client`,
    )
    return page.evaluate(() => ({ signedInAt: window.bench.signedInAt, startError: window.bench.startError }))
  }

  return {
    site,
    server,
    provider,
    context,
    async tokenAnswers() {
      await Promise.all(pendingAnswers)
      return [...tokenAnswers]
    },
    pageErrors,
    assertScriptsServed() {
      const missing = new Set(
        server.requests.filter((request) => !request.found && request.path.endsWith('.js')).map(({ path }) => path),
      )
      if (missing.size > 0) throw new Error(`${site.library.id}: the app build has no ${[...missing].join(', ')}`)
    },
    refreshes: () => provider.countRequests({ grantType: 'refresh_token' }),
    kindOf(request) {
      if (request.method === 'OPTIONS') return 'preflight'
      if (request.path === paths.token) return 'token'
      if (request.path === paths.discovery) return 'discovery'
      if (request.path === paths.jwks) return 'jwks'
      if (request.path === paths.userinfo) return 'userinfo'
      if (
        request.path === paths.authorization ||
        request.path.startsWith(`${paths.authorization}/`) ||
        request.path.includes('/interaction/')
      )
        return 'redirect'
      return 'other'
    },
    async openTab(path = '/') {
      const page = await context.newPage()
      await page.goto(new URL(path, origin).href)
      const { startError } = await ready(page)
      if (startError) throw new Error(`${site.library.id} did not start: ${startError}`)
      return page
    },
    async signIn(page) {
      await Promise.all([
        page.waitForEvent('load', {
          predicate: () => new URL(page.url()).origin === origin,
          timeout: CLIENT_START_MS,
        }),
        page.evaluate(() => void window.bench.client.signIn()),
      ])
      const { signedInAt, startError } = await ready(page)
      if (signedInAt === null)
        throw new Error(
          `${site.library.id}: not signed in after the sign-in round trip${startError ? `: ${startError}` : ''}`,
        )
    },
    async sessionHolds(page) {
      let token: string
      try {
        token = await within(
          page.evaluate(() => window.bench.client.getAccessToken()),
          CLIENT_START_MS,
          'getAccessToken()',
        )
      } catch (error) {
        return { holds: false, why: firstLine(error) }
      }
      const response = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${token}` } })
      await response.body?.cancel()
      return response.ok
        ? { holds: true }
        : { holds: false, why: `the provider refused its access token (userinfo ${response.status})` }
    },
    async close() {
      await Promise.all(pendingAnswers)
      await context.close().catch(() => undefined)
      await Promise.all([provider.close(), server.close()])
    },
  }
}

/** The first line of an error's message, without Playwright's call log. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return (message.split('\n')[0] ?? message).replace(/^page\.evaluate: /, '')
}

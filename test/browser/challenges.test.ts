/**
 * An API on another origin that answers with challenges, in a real browser: `auth.fetch` reads its
 * `WWW-Authenticate` header (exposed by CORS), refreshes once for three tabs refused at once, and a
 * step-up challenge leads through the README's lines to a sign-in with the `acr` the API asked for.
 * The API checks each token at the provider's userinfo endpoint, as a resource server without its
 * own token format does. The figures are printed for the notes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import { startTestApp, type TestApp } from './support/app-server.js'
import { engine, launchEngine, skipBrowserSuites, type Engine, type Profile, type Tab } from './support/engine.js'
import { configureApp, openTab, signInFrom } from './support/tabs.js'

const PASSWORD = 'urn:spa-auth:password'
const MFA = 'urn:spa-auth:mfa'
const STEP_UP = `Bearer error="insufficient_user_authentication", error_description="A stronger sign-in is required", acr_values="${MFA}", max_age=300`

/** A request the API received: its path, the token it carried, and the status it answered. */
interface ApiRequest {
  path: string
  token: string | undefined
  status: number
}

interface Api {
  origin: string
  requests: ApiRequest[]
  /**
   * Keeps the next `count` refusals back until all of them have arrived, then sends them together:
   * the tabs' calls are refused at once, whatever order their requests came in.
   */
  holdRefusals(count: number): void
  close(): Promise<void>
}

/**
 * The API, on 127.0.0.1 (the app is on localhost: another origin). `GET /orders` answers 200 for a
 * token the provider's userinfo endpoint accepts, else 401 `invalid_token`; `POST /transfers`
 * always asks for a stronger sign-in (RFC 9470). CORS lets the app read `WWW-Authenticate`.
 */
async function startApi(appOrigin: string, userinfoEndpoint: string): Promise<Api> {
  const requests: ApiRequest[] = []
  let held: { count: number; waiting: Array<() => void> } | undefined
  const cors = {
    'access-control-allow-origin': appOrigin,
    'access-control-expose-headers': 'WWW-Authenticate',
  }

  async function refuse(res: ServerResponse): Promise<void> {
    if (held) {
      const hold = held
      await new Promise<void>((resolve) => {
        hold.waiting.push(resolve)
        if (hold.waiting.length === hold.count) {
          held = undefined
          for (const release of hold.waiting) release()
        }
      })
    }
    res.writeHead(401, { ...cors, 'www-authenticate': 'Bearer error="invalid_token"' })
    res.end()
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...cors,
        'access-control-allow-headers': 'authorization, content-type, dpop',
        'access-control-allow-methods': 'GET, POST',
      })
      res.end()
      return
    }
    for await (const _chunk of req);
    const path = new URL(req.url ?? '/', 'http://api').pathname
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const request: ApiRequest = { path, token, status: 0 }
    requests.push(request)
    if (path === '/transfers') {
      request.status = 401
      res.writeHead(401, { ...cors, 'www-authenticate': STEP_UP })
      res.end()
      return
    }
    const checked = await fetch(userinfoEndpoint, { headers: { authorization: `Bearer ${token ?? ''}` } })
    request.status = checked.ok ? 200 : 401
    if (!checked.ok) return refuse(res)
    res.writeHead(200, { ...cors, 'content-type': 'application/json' })
    res.end(JSON.stringify({ orders: [], for: ((await checked.json()) as { sub: string }).sub }))
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, cors)
      res.end(String(error))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  server.unref()
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    holdRefusals(count) {
      held = { count, waiting: [] }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

describe.skipIf(skipBrowserSuites)(`auth.fetch and the API's challenges in ${engine.title}`, () => {
  let app: TestApp
  let provider: TestProvider
  let api: Api
  let browser: Engine
  let context: Profile

  beforeAll(async () => {
    app = await startTestApp()
    provider = await startTestProvider({
      profile: 'strict',
      redirectUris: [`${app.origin}/callback`],
      postLogoutRedirectUris: [`${app.origin}/`],
      acrValues: [PASSWORD, MFA],
    })
    const { userinfo_endpoint } = (await (
      await fetch(`${provider.issuer}/.well-known/openid-configuration`)
    ).json()) as {
      userinfo_endpoint: string
    }
    api = await startApi(app.origin, userinfo_endpoint)
    browser = await launchEngine()
    context = await browser.newProfile()
    await configureApp(context, app.origin, provider.issuer, provider.clientId, { apiOrigins: [api.origin] })
  })

  afterAll(async () => {
    await browser?.close()
    await api?.close()
    await provider?.close()
    await app?.close()
  })

  // `no-store`: Chromium's HTTP cache makes identical GETs wait (up to 20 s) behind the first one,
  // whose answer the API holds here until every tab's request has arrived.
  const fetchStatus = (page: Tab, url: string) =>
    page.evaluate(
      (url: string) => window.auth.fetch(url, { cache: 'no-store' }).then((response) => response.status),
      url,
    )

  it('three tabs refused invalid_token at once make one refresh grant, then each call succeeds', async () => {
    const first = await openTab(context, `${app.origin}/`)
    await signInFrom(first, app.origin)
    const tabs = [first, await openTab(context, `${app.origin}/`), await openTab(context, `${app.origin}/`)]
    const tokens = await Promise.all(tabs.map((tab) => tab.evaluate(() => window.auth.getAccessToken())))
    expect(new Set(tokens).size).toBe(1)
    // The provider forgets the token before it expires: the API's check at userinfo now fails.
    await provider.forgetAccessToken(tokens[0]!)
    provider.resetRequests()
    api.requests.length = 0
    api.holdRefusals(3)

    const statuses = await Promise.all(tabs.map((tab) => fetchStatus(tab, `${api.origin}/orders`)))

    const refreshes = provider.countRequests({ grantType: 'refresh_token' })
    console.info(
      `[figures] 3 tabs, auth.fetch refused invalid_token at once: ${refreshes} refresh grant(s), ` +
        `${api.requests.length} API requests (${api.requests.map(({ status }) => status).join(', ')})`,
    )
    expect(statuses).toEqual([200, 200, 200])
    expect(refreshes).toBe(1)
    expect(api.requests.filter(({ token }) => token === tokens[0]).map(({ status }) => status)).toEqual([401, 401, 401])
    const renewed = api.requests.filter(({ token }) => token !== tokens[0])
    expect(renewed.map(({ status }) => status)).toEqual([200, 200, 200])
    expect(new Set(renewed.map(({ token }) => token)).size).toBe(1)
    for (const tab of tabs) await tab.close()
  })

  it("a step-up challenge leads, through the README's lines, to a sign-in whose ID token carries the acr asked for", async () => {
    const page = await openTab(context, `${app.origin}/`)
    if ((await page.evaluate(() => window.auth.getSnapshot().status)) !== 'signed-in') {
      await signInFrom(page, app.origin)
    }
    expect(await page.evaluate(() => window.auth.getSnapshot().user?.acr)).not.toBe(MFA)

    await Promise.all([
      page.nextLoad((url) => new URL(url).origin === app.origin),
      // Not awaited in the page: the sign-in navigates away from it.
      page.evaluate((url: string) => {
        const { auth, isAuthError } = window
        const body = JSON.stringify({ to: 'savings', amount: 100 })
        void (async () => {
          // The README's lines, as they are written there:
          try {
            await auth.fetch(url, { method: 'POST', body })
          } catch (error) {
            if (!isAuthError(error, 'step_up_required')) throw error
            const authorizeParams: Record<string, string> = {}
            if (error.acrValues) authorizeParams.acr_values = error.acrValues
            if (error.maxAge !== undefined) authorizeParams.max_age = String(error.maxAge)
            await auth.signIn({ returnTo: '/transfers', authorizeParams }) // or signInWithPopup({ authorizeParams })
          }
        })()
      }, `${api.origin}/transfers`),
    ])
    await page.evaluate(() => window.appReady)
    expect(new URL(page.url()).pathname).toBe('/transfers')

    const after = await page.evaluate(() => {
      const { status, user } = window.auth.getSnapshot()
      return { status, sub: user?.sub, acr: user?.acr, authTime: user?.auth_time, lastError: window.lastError }
    })
    console.info(`[figures] step-up sign-in: ID token acr ${after.acr}, auth_time ${after.authTime}`)
    expect(after).toMatchObject({ status: 'signed-in', sub: 'alice', acr: MFA, lastError: null })
    expect(after.authTime).toBeGreaterThan(Date.now() / 1000 - 300)
  })
})

// @vitest-environment node
/**
 * The life of a session through the public API, where today's client loses or corrupts it
 * (issue #9): a sign-out racing a refresh, failures after the provider already rotated the refresh
 * token, a client the provider refuses, unreadable stored records, dispose(), the DPoP key and a
 * sign-out whose store cannot delete. Real provider, fake clock, fake tabs; races are held open at
 * the network and released by the test.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose'
import * as oauth from 'oauth4webapi'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createMemoryStore,
  isAuthError,
  type AuthConfig,
  type AuthEnvironment,
  type KeyValueStore,
} from '../src/index.js'
import { expectNoSecretInErrors } from './support/error-collector.js'
import { flushEventLoop } from './support/fake-clock.js'
import { startTestProvider, type TestProvider } from './support/provider.js'
import {
  APP,
  createWorld,
  disposeOpenTabs,
  openTab,
  rejection,
  sessionKey,
  signIn,
  type Network,
  type Tab,
  type World,
} from './support/world.js'

const HOUR_MS = 60 * 60_000

afterEach(disposeOpenTabs)

let strict: TestProvider
let dpop: TestProvider

beforeAll(async () => {
  const redirectUris = [`${APP}/callback`]
  ;[strict, dpop] = await Promise.all([
    startTestProvider({ profile: 'strict', accessTokenTtlSeconds: 120, redirectUris }),
    startTestProvider({ profile: 'strict', accessTokenTtlSeconds: 3600, redirectUris, dpop: 'optional' }),
  ])
})
afterAll(async () => {
  await Promise.all([strict, dpop].map((provider) => provider?.close()))
})
afterAll(() => expectNoSecretInErrors({ errors: 100, secrets: 100 }))

// ---------------------------------------------------------------------------------------------
// Options added by the session-core rebuild (issue #9). Today's types do not list them, and
// today's client ignores them; these helpers only let the tests pass them through the compiler.
// ---------------------------------------------------------------------------------------------

/** `AuthEnvironment.random()`: like Math.random, used for backoff jitter. */
function rebuiltEnvironment(
  environment: Partial<AuthEnvironment> & { random?: () => number },
): Partial<AuthEnvironment> {
  return environment as Partial<AuthEnvironment>
}

/** `AuthConfig.apiOrigins`: the origins `auth.fetch` may send tokens to. */
function rebuiltConfig(config: Partial<AuthConfig> & { apiOrigins?: string[] }): Partial<AuthConfig> {
  return config as Partial<AuthConfig>
}

/** Jitter pinned to the middle, so retry counts are the same on every run. */
const steadyJitter = rebuiltEnvironment({ random: () => 0.5 })

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function deferred<T = void>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((done) => (resolve = done))
  return { promise, resolve }
}

interface TokenResponseBody {
  access_token: string
  token_type?: string
  refresh_token?: string
  id_token?: string
  [name: string]: unknown
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  })
}

interface Discovery {
  token_endpoint: string
  jwks_uri: string
  userinfo_endpoint: string
}

const discoveries = new Map<TestProvider, Promise<Discovery>>()
function discoveryOf(provider: TestProvider): Promise<Discovery> {
  let discovery = discoveries.get(provider)
  if (discovery === undefined) {
    discovery = fetch(`${provider.issuer}/.well-known/openid-configuration`).then(
      (response) => response.json() as Promise<Discovery>,
    )
    discoveries.set(provider, discovery)
  }
  return discovery
}

/** Presents `refreshToken` to the provider ourselves: `{ status: 400, error: 'invalid_grant' }` once it is dead. */
async function presentRefreshToken(provider: TestProvider, refreshToken: string) {
  const response = await fetch((await discoveryOf(provider)).token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: provider.clientId,
    }),
  })
  const body = (await response.json()) as { error?: string }
  return { status: response.status, error: body.error }
}

/**
 * Holds the tab's next token response of `grantType`: the request reaches the provider, which
 * processes it completely (a refresh token is rotated), and the answer waits until `release()`.
 * `reached` resolves with the body the provider answered.
 */
function holdTokenResponse(network: Network, grantType: string) {
  const reached = deferred<TokenResponseBody>()
  const gate = deferred()
  let taken = false
  network.intercept(async ({ params, forward }) => {
    if (taken || params.get('grant_type') !== grantType) return undefined
    taken = true
    const answer = await forward()
    const text = await answer.text()
    reached.resolve(JSON.parse(text) as TokenResponseBody)
    await gate.promise
    return new Response(text, {
      status: answer.status,
      headers: {
        'content-type': answer.headers.get('content-type') ?? 'application/json',
        'cache-control': 'no-store',
      },
    })
  })
  return { reached: reached.promise, release: () => gate.resolve() }
}

/**
 * Forwards every refresh grant of the tab to the provider and answers with `change` applied to the
 * provider's real answer; `issued` collects the real answers.
 */
function rewriteRefreshAnswers(network: Network, change: (body: TokenResponseBody) => Promise<unknown> | unknown) {
  const issued: TokenResponseBody[] = []
  network.intercept(async ({ params, forward }) => {
    if (params.get('grant_type') !== 'refresh_token') return undefined
    const body = (await (await forward()).json()) as TokenResponseBody
    issued.push(body)
    return json(await change({ ...body }))
  })
  return { issued }
}

/**
 * Starts `call` and waits until it has gone as far as it can while the test holds a refresh: it
 * settled, or it waits for a Web Lock another callback holds (a sign-out or sign-in that commits
 * under the session's lock cannot finish while the held refresh keeps that lock), or `reached()`
 * — what the tab must show meanwhile — is true. Resolves `{ done }`, the call's own promise.
 */
async function startAndProgress<T>(
  world: World,
  call: () => Promise<T>,
  reached: () => boolean,
): Promise<{ done: Promise<T> }> {
  const waitingBefore = world.browser.waiting()
  const work = call()
  let settled = false
  work.then(
    () => (settled = true),
    () => (settled = true),
  )
  const giveUpAt = Date.now() + 5_000
  while (!settled && !reached() && world.browser.waiting() <= waitingBefore) {
    // A bound for a broken client only: a working one gets there in milliseconds.
    if (Date.now() > giveUpAt) throw new Error('the call neither settled nor waited for the session lock in 5 s')
    await flushEventLoop(1)
  }
  return { done: work }
}

/**
 * Lets the tabs finish what they started: locks released, messages delivered, and no request
 * (a revocation, say) still waiting for the provider's answer.
 */
async function settle(world: World, tabs: Array<{ network: Network }>): Promise<void> {
  await world.browser.idle()
  await Promise.all(tabs.map((tab) => tab.network.quiet()))
  await world.browser.idle()
}

type StoreOperation = 'get' | 'write' | 'del'

/**
 * A memory store whose operations fail while a rule says so, as IndexedDB does when the disk is
 * full or the browser evicts the database. `write` covers `set` and `replace`.
 */
function unreliableStore(inner: KeyValueStore = createMemoryStore()) {
  const rules = new Map<StoreOperation, (key: string) => boolean>()
  function check(operation: StoreOperation, key: string): void {
    if (rules.get(operation)?.(key)) {
      throw new DOMException(`The store failed to ${operation} ${key}.`, 'UnknownError')
    }
  }
  const store: KeyValueStore = {
    async get<T>(key: string) {
      check('get', key)
      return inner.get<T>(key)
    },
    async set(key, value) {
      check('write', key)
      return inner.set(key, value)
    },
    async del(key) {
      check('del', key)
      return inner.del(key)
    },
    async update<T>(key: string, updater: (current: T | undefined) => T | undefined) {
      // An update that returns nothing deletes.
      check(updater(await inner.get<T>(key)) === undefined ? 'del' : 'write', key)
      return inner.update(key, updater)
    },
    keys: () => inner.keys(),
  }
  return {
    store,
    fail(operation: StoreOperation, rule: (key: string) => boolean = () => true) {
      rules.set(operation, rule)
    },
    heal(operation: StoreOperation) {
      rules.delete(operation)
    },
  }
}

/** A sign-in done with oauth4webapi alone, as a record of the 0.1.0 format would hold it. */
async function signInWithoutTheLibrary(provider: TestProvider, now: number) {
  const insecure = { [oauth.allowInsecureRequests]: true } as const
  const issuer = new URL(provider.issuer)
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure))
  const client: oauth.Client = { client_id: provider.clientId }
  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const nonce = oauth.generateRandomNonce()
  const url = new URL(as.authorization_endpoint!)
  url.search = new URLSearchParams({
    client_id: provider.clientId,
    redirect_uri: `${APP}/callback`,
    response_type: 'code',
    scope: 'openid profile offline_access',
    prompt: 'consent',
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString()
  const params = oauth.validateAuthResponse(as, client, new URL(await provider.authorize(url.href)), state)
  const response = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, `${APP}/callback`, verifier, insecure),
    { expectedNonce: nonce, requireIdToken: true },
  )
  return {
    tokens: {
      accessToken: response.access_token,
      tokenType: response.token_type.toLowerCase(),
      refreshToken: response.refresh_token,
      idToken: response.id_token,
      issuedAt: now,
      expiresAt: now + response.expires_in! * 1000,
      scope: response.scope,
    },
    claims: { ...oauth.getValidatedIdTokenClaims(response)! },
  }
}

/** The provider's own signing key (test/support/provider-keys.json), to sign ID tokens it never issued. */
async function providerSigningKey() {
  const { keys } = JSON.parse(readFileSync(new URL('./support/provider-keys.json', import.meta.url), 'utf8')) as {
    keys: JWK[]
  }
  const jwk = keys.find((key) => key.alg === 'RS256')!
  return { kid: jwk.kid!, key: await importJWK(jwk, 'RS256') }
}

// ---------------------------------------------------------------------------------------------
// 1. A sign-out is undone by a refresh already in flight.
// ---------------------------------------------------------------------------------------------

describe('1. a sign-out while a refresh is in flight', () => {
  /**
   * Starts a refresh in `refreshing` and holds its answer (the provider has rotated the refresh
   * token), then signs `signingOut` out as far as it gets meanwhile. Resolves what the provider
   * answered the held refresh, and `release()`, which lets the answer through and resolves once the
   * refresh and the sign-out have settled.
   */
  async function signOutDuringRefresh(world: World, refreshing: Tab, signingOut: Tab) {
    const held = holdTokenResponse(refreshing.network, 'refresh_token')
    const refresh = refreshing.auth.refresh().catch(() => {})
    const issued = await held.reached
    const signOut = await startAndProgress(
      world,
      () => signingOut.auth.signOut({ redirect: false }),
      () => signingOut.auth.getSnapshot().status === 'signed-out',
    )
    return {
      issued,
      async release(): Promise<void> {
        held.release()
        await Promise.all([refresh, signOut.done])
      },
    }
  }

  it('stays signed out in the same tab, after a reload and at the provider', async () => {
    const world = createWorld()
    const tab = openTab(strict, world)
    await signIn(strict, tab.auth)
    const { issued, release } = await signOutDuringRefresh(world, tab, tab)
    expect(tab.auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'signed-out' })

    await release()
    await settle(world, [tab])
    expect(tab.auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'signed-out' })
    const reload = openTab(strict, world)
    await reload.auth.ready()
    expect(reload.auth.getSnapshot()).toMatchObject({ status: 'signed-out' })
    // The refresh token the provider issued in the held answer was revoked, not left alive.
    expect(await presentRefreshToken(strict, issued.refresh_token!)).toEqual({ status: 400, error: 'invalid_grant' })
  })

  it("leaves both tabs and a reload signed out when another tab signs out during this tab's refresh", async () => {
    const world = createWorld()
    const a = openTab(strict, world)
    await signIn(strict, a.auth)
    const b = openTab(strict, world)
    await b.auth.ready()
    expect(b.auth.getSnapshot()).toMatchObject({ status: 'signed-in' })
    const { release } = await signOutDuringRefresh(world, a, b)
    await release()
    await settle(world, [a, b])

    expect(a.auth.getSnapshot()).toMatchObject({ status: 'signed-out' })
    expect(b.auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'signed-out' })
    const reload = openTab(strict, world)
    await reload.auth.ready()
    expect(reload.auth.getSnapshot()).toMatchObject({ status: 'signed-out' })
  })

  it("keeps the new session another tab signed in with while this tab's refresh was held", async () => {
    const world = createWorld()
    const a = openTab(strict, world)
    await signIn(strict, a.auth)
    const b = openTab(strict, world)
    await b.auth.ready()
    const { release } = await signOutDuringRefresh(world, a, b)
    const signingIn = await startAndProgress(
      world,
      async () => {
        const callbackUrl = await strict.authorize(await b.auth.createSignInUrl({ returnTo: '/orders' }))
        await b.auth.handleRedirectCallback(callbackUrl)
      },
      () => b.auth.getSnapshot().status === 'signed-in',
    )
    await Promise.all([release(), signingIn.done])
    await settle(world, [a, b])

    // The fixture's account is always alice: tell the sessions apart by their tokens.
    const issuedToB = b.network.tokenRequests('authorization_code').at(-1)?.issued?.accessToken
    const tokenOfB = await b.auth.getAccessToken()
    expect(tokenOfB, "tab B's session was replaced by tab A's stale refresh").toBe(issuedToB)
    const reload = openTab(strict, world)
    await reload.auth.ready()
    expect(await reload.auth.getAccessToken()).toBe(tokenOfB)
    const userinfo = await fetch((await discoveryOf(strict)).userinfo_endpoint, {
      headers: { authorization: `Bearer ${tokenOfB}` },
    })
    expect(userinfo.status).toBe(200)
  })
})

// ---------------------------------------------------------------------------------------------
// 2. A failure after the provider rotated the refresh token loses the session later.
// ---------------------------------------------------------------------------------------------

describe('2. a failure after the provider rotated the refresh token', () => {
  it('keeps the rotated refresh token in memory when the store cannot save it', async () => {
    const unreliable = unreliableStore()
    const world = createWorld(unreliable.store)
    const { auth, network } = openTab(strict, world)
    await signIn(strict, auth)

    unreliable.fail('write', (key) => key === sessionKey(strict))
    await auth.refresh().catch(() => {})
    await world.browser.idle()
    expect(network.tokenRequests('refresh_token').map((request) => request.status)).toEqual([200])
    expect(auth.getSnapshot()).toMatchObject({
      status: 'signed-in',
      storage: 'memory',
      error: { code: 'storage_error' },
    })

    // The next refresh presents the token the provider rotated to, not the one it replaced.
    await auth.refresh().catch(() => {})
    await world.browser.idle()
    expect(network.tokenRequests('refresh_token').map((request) => request.status)).toEqual([200, 200])
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in' })

    unreliable.heal('write')
    await auth.refresh()
    await world.browser.idle()
    const reload = openTab(strict, world)
    await reload.auth.ready()
    expect(reload.auth.getSnapshot()).toMatchObject({ status: 'signed-in' })
    expect(await reload.auth.getAccessToken()).toBe(await auth.getAccessToken())
  })

  it('ends the session at once and revokes the new refresh token when the answer has no token_type', async () => {
    const world = createWorld()
    const { auth, network } = openTab(strict, world)
    await signIn(strict, auth)
    const { issued } = rewriteRefreshAnswers(network, ({ token_type: _dropped, ...body }) => body)

    await auth.refresh().catch(() => {})
    await settle(world, [{ network }])

    const state = auth.getSnapshot()
    expect(state).toMatchObject({ status: 'signed-out', reason: 'refresh-invalid' })
    expect(isAuthError(state.error), String(state.error)).toBe(true)
    expect(issued).toHaveLength(1)
    expect(await presentRefreshToken(strict, issued[0]!.refresh_token!)).toEqual({
      status: 400,
      error: 'invalid_grant',
    })
  })

  it.each([
    {
      defect: 'names another issuer',
      code: 'id_token_invalid',
      async sign(claims: Record<string, unknown>) {
        const { kid, key } = await providerSigningKey()
        return new SignJWT({ ...claims, iss: 'https://elsewhere.example' })
          .setProtectedHeader({ alg: 'RS256', kid })
          .sign(key)
      },
    },
    {
      defect: 'has a signature no published key verifies',
      code: 'id_token_signature_invalid',
      async sign(claims: Record<string, unknown>) {
        const { kid } = await providerSigningKey()
        const impostor = await generateKeyPair('RS256')
        return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(impostor.privateKey)
      },
    },
  ])(
    'ends the session at once and revokes the new refresh token when the refreshed ID token $defect',
    async ({ code, sign }) => {
      const world = createWorld()
      const { auth, network } = openTab(strict, world)
      await signIn(strict, auth)
      const { issued } = rewriteRefreshAnswers(network, async (body) => ({
        ...body,
        id_token: await sign(decodeJwt(body.id_token!)),
      }))

      await auth.refresh().catch(() => {})
      await settle(world, [{ network }])

      expect(auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'refresh-invalid', error: { code } })
      expect(issued).toHaveLength(1)
      expect(await presentRefreshToken(strict, issued[0]!.refresh_token!)).toEqual({
        status: 400,
        error: 'invalid_grant',
      })
    },
  )

  it('accepts a refreshed ID token signed with a key the provider has just published, after one JWKS fetch', async () => {
    const { jwks_uri } = await discoveryOf(strict)
    const published = (await (await fetch(jwks_uri)).json()) as { keys: JWK[] }
    const rotated = await generateKeyPair('RS256', { extractable: true })
    const rotatedJwk = { ...(await exportJWK(rotated.publicKey)), kid: 'rotated-rs256-2', alg: 'RS256', use: 'sig' }

    const world = createWorld()
    const { auth, network } = openTab(strict, world)
    await signIn(strict, auth)
    const isJwks = (url: string) => new URL(url).href === new URL(jwks_uri).href
    const jwksRequests = () => network.exchanges.filter((exchange) => isJwks(exchange.url)).length
    const jwksRequestsBefore = jwksRequests()
    expect(jwksRequestsBefore).toBeGreaterThan(0)

    // From now on the provider signs with a new key and publishes it; the client's copy of the
    // JWKS is seconds old, so oauth4webapi alone would not fetch it again.
    network.intercept(async ({ url, params, forward }) => {
      if (isJwks(url)) return json({ keys: [...published.keys, rotatedJwk] })
      if (params.get('grant_type') !== 'refresh_token') return undefined
      const body = (await (await forward()).json()) as TokenResponseBody
      body.id_token = await new SignJWT(decodeJwt(body.id_token!))
        .setProtectedHeader({ alg: 'RS256', kid: rotatedJwk.kid })
        .sign(rotated.privateKey)
      return json(body)
    })

    await auth.refresh().catch(() => {})
    await world.browser.idle()

    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: null })
    expect(network.tokenRequests('refresh_token').map((request) => request.status)).toEqual([200])
    expect(jwksRequests()).toBe(jwksRequestsBefore + 1)
  })
})

// ---------------------------------------------------------------------------------------------
// 3. A client the provider refuses is retried forever.
// ---------------------------------------------------------------------------------------------

/** Answers every refresh grant of `network` with `answer()`; everything else goes to the provider. */
function refuseRefreshes(network: Network, answer: () => Response): void {
  network.intercept(({ params }) => (params.get('grant_type') === 'refresh_token' ? answer() : undefined))
}

/** Signs in in one tab and opens `count − 1` more on the same world, all with steady jitter. */
async function signedInTabs(world: World, count: number) {
  const first = openTab(strict, world, steadyJitter)
  await signIn(strict, first.auth)
  const tabs = [first]
  for (let more = 1; more < count; more++) tabs.push(openTab(strict, world, steadyJitter))
  await Promise.all(tabs.map((tab) => tab.auth.ready()))
  for (const tab of tabs) expect(tab.auth.getSnapshot()).toMatchObject({ status: 'signed-in' })
  return tabs
}

/** Moves the clock to the first planned refresh of any tab, then on by `ms`. */
async function fromFirstRefresh(world: World, tabs: Array<Tab>, ms: number) {
  const firstDue = Math.min(...tabs.map((tab) => tab.auth.nextRefreshAt() ?? Infinity))
  expect(firstDue).toBeLessThan(Infinity)
  await world.clock.advance(firstDue - world.clock.now())
  await world.clock.advance(ms)
}

const refreshRequests = (tabs: Array<Tab>) => tabs.flatMap((tab) => tab.network.tokenRequests('refresh_token'))

describe('3. a refresh the provider refuses or cannot answer', () => {
  it.each([
    {
      answer: '401 invalid_client',
      respond: () => json({ error: 'invalid_client', error_description: 'client authentication failed' }, 401),
    },
    {
      answer: '400 unauthorized_client',
      respond: () => json({ error: 'unauthorized_client', error_description: 'grant type not allowed' }, 400),
    },
    {
      answer: '403 with an HTML page (a WAF)',
      respond: () =>
        new Response('<!DOCTYPE html><html><body><h1>403 Forbidden</h1><p>Request blocked.</p></body></html>', {
          status: 403,
          headers: { 'content-type': 'text/html' },
        }),
    },
  ])('ends the session with reason client-rejected after one retry when the answer is $answer', async ({ respond }) => {
    const world = createWorld()
    const tabs = await signedInTabs(world, 1)
    const { auth, network } = tabs[0]!
    refuseRefreshes(network, respond)

    await fromFirstRefresh(world, tabs, HOUR_MS)

    expect(network.tokenRequests('refresh_token')).toHaveLength(2)
    expect(auth.getSnapshot()).toMatchObject({
      status: 'signed-out',
      reason: 'client-rejected',
      error: { code: 'client_rejected' },
    })
  })

  it('keeps the session and makes at most 40 requests from three tabs in an hour of 429 without Retry-After', async () => {
    const world = createWorld()
    const tabs = await signedInTabs(world, 3)
    for (const tab of tabs) {
      refuseRefreshes(
        tab.network,
        () => new Response('Too Many Requests', { status: 429, headers: { 'content-type': 'text/plain' } }),
      )
    }

    await fromFirstRefresh(world, tabs, HOUR_MS)

    expect(refreshRequests(tabs).length).toBeGreaterThan(0)
    expect(refreshRequests(tabs).length).toBeLessThanOrEqual(40)
    for (const tab of tabs) {
      expect(tab.auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: { code: 'rate_limited' } })
    }
  })

  it('never asks again sooner than a 429 answer’s Retry-After of 120 s', async () => {
    const world = createWorld()
    const tabs = await signedInTabs(world, 1)
    refuseRefreshes(
      tabs[0]!.network,
      () =>
        new Response('Too Many Requests', {
          status: 429,
          headers: { 'content-type': 'text/plain', 'retry-after': '120' },
        }),
    )

    await fromFirstRefresh(world, tabs, HOUR_MS)

    const times = refreshRequests(tabs).map((request) => request.at)
    expect(times.length).toBeGreaterThanOrEqual(2)
    const gaps = times.slice(1).map((at, index) => at - times[index]!)
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(120_000)
  })

  it.each([
    {
      failure: 'the token endpoint answers 500',
      respond: () => new Response('Internal Server Error', { status: 500, headers: { 'content-type': 'text/plain' } }),
    },
    {
      failure: 'the network fails',
      respond: (): Response => {
        throw new TypeError('fetch failed')
      },
    },
  ])(
    'makes at most 40 requests from three tabs in an hour when $failure (one backoff for all tabs)',
    async ({ respond }) => {
      const world = createWorld()
      const tabs = await signedInTabs(world, 3)
      for (const tab of tabs) refuseRefreshes(tab.network, respond)

      await fromFirstRefresh(world, tabs, HOUR_MS)

      expect(refreshRequests(tabs).length).toBeGreaterThan(0)
      expect(refreshRequests(tabs).length).toBeLessThanOrEqual(40)
      for (const tab of tabs) expect(tab.auth.getSnapshot()).toMatchObject({ status: 'signed-in' })
    },
  )

  it('names an unreachable token endpoint, and CORS, when discovery still answers', async () => {
    const world = createWorld()
    const tabs = await signedInTabs(world, 1)
    const { token_endpoint } = await discoveryOf(strict)
    tabs[0]!.network.intercept(({ url }) => {
      if (new URL(url).href === new URL(token_endpoint).href) throw new TypeError('Failed to fetch')
      return undefined
    })

    await fromFirstRefresh(world, tabs, HOUR_MS)

    const { error } = tabs[0]!.auth.getSnapshot()
    expect(error).toMatchObject({ code: 'token_endpoint_unreachable' })
    expect(error?.message).toMatch(/CORS/)
  })
})

// ---------------------------------------------------------------------------------------------
// 4. A stored record of an unexpected shape.
// ---------------------------------------------------------------------------------------------

describe('4. a stored session record of an unexpected shape', () => {
  it.each([
    { shape: "the string 'garbage'", record: 'garbage' },
    { shape: '{ hello: "world" }', record: { hello: 'world' } },
    { shape: 'an unknown version, { v: 99, tokens: {} }', record: { v: 99, tokens: {} } },
    { shape: 'an incomplete 0.1.0 record, { tokens: {} }', record: { tokens: {} } },
  ])('loads as signed-out with reason session-unreadable and is removed: $shape', async ({ record }) => {
    const world = createWorld()
    await world.store.set(sessionKey(strict), record)
    const { auth } = openTab(strict, world)

    await expect(auth.ready()).resolves.toBeUndefined()
    await world.browser.idle()
    expect(auth.getSnapshot()).toMatchObject({
      status: 'signed-out',
      reason: 'session-unreadable',
      error: { code: 'session_unreadable' },
    })
    expect(await world.store.get(sessionKey(strict))).toBeUndefined()
  })

  // A guard rather than a defect: today's client reads this format, the rebuilt one must migrate it.
  it('migrates a complete record of the 0.1.0 format and refreshes with it', async () => {
    const world = createWorld()
    const record = await signInWithoutTheLibrary(strict, world.clock.now())
    await world.store.set(sessionKey(strict), record)
    const { auth, network } = openTab(strict, world)

    await auth.ready()
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice' }, error: null })
    expect(await auth.getAccessToken()).toBe(record.tokens.accessToken)
    await auth.refresh()
    expect(network.tokenRequests('refresh_token').map((request) => request.refreshToken)).toEqual([
      record.tokens.refreshToken,
    ])
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: null })
  })
})

// ---------------------------------------------------------------------------------------------
// 5. dispose() does not end everything.
// ---------------------------------------------------------------------------------------------

const REPO = fileURLToPath(new URL('../', import.meta.url))

/** Runs `node file ...args`; kills it and reports `exited: false` when it is still running after `limitMs`. */
function runNode(file: string, args: string[], limitMs: number) {
  return new Promise<{ exited: boolean; code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    let exited = true
    const limit = setTimeout(() => {
      exited = false
      child.kill('SIGKILL')
    }, limitMs)
    child.on('close', (code) => {
      clearTimeout(limit)
      resolve({ exited, code, stdout, stderr })
    })
  })
}

describe('5. dispose()', () => {
  it('leaves no channel opened and no timer armed by a sign-in that completes after it', async () => {
    const world = createWorld()
    let disposed = false
    let channelsOpenedAfterDispose = 0
    const { auth, network } = openTab(strict, world, {
      openChannel(name) {
        if (disposed) channelsOpenedAfterDispose++
        return world.browser.openChannel(name)
      },
    })
    const held = holdTokenResponse(network, 'authorization_code')
    const callbackUrl = await strict.authorize(await auth.createSignInUrl({ returnTo: '/orders' }))
    const completing = auth.handleRedirectCallback(callbackUrl).catch(() => {})
    await held.reached

    auth.dispose()
    disposed = true
    held.release()
    await completing
    await world.browser.idle()

    expect(channelsOpenedAfterDispose).toBe(0)
    expect(world.clock.pending()).toBe(0)
  })

  it('lets a Node process whose client was never disposed exit by itself', { timeout: 60_000 }, async () => {
    // Inside node_modules so the bundle's bare imports (oidc-provider, oauth4webapi) resolve.
    await mkdir(join(REPO, 'node_modules', '.cache'), { recursive: true })
    const dir = await mkdtemp(join(REPO, 'node_modules', '.cache', 'spa-auth-exit-'))
    try {
      const program = join(dir, 'undisposed-client.mjs')
      await build({
        entryPoints: [join(REPO, 'test', 'support', 'undisposed-client.ts')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        outfile: program,
        logLevel: 'silent',
      })
      // The provider fixture reads its signing keys from beside its own module.
      await copyFile(join(REPO, 'test', 'support', 'provider-keys.json'), join(dir, 'provider-keys.json'))

      // The same program with dispose() exits: the fixture and the sign-in hold nothing open.
      const disposing = await runNode(program, ['dispose'], 10_000)
      expect(disposing, disposing.stderr).toMatchObject({ exited: true, code: 0, stdout: 'signed-in\n' })

      const undisposed = await runNode(program, [], 10_000)
      expect(undisposed.stdout, undisposed.stderr).toBe('signed-in\n')
      expect(undisposed.exited, 'the process was still running 10 s after the program returned').toBe(true)
      expect(undisposed.code).toBe(0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

// ---------------------------------------------------------------------------------------------
// 6. The DPoP key lives apart from the session.
// ---------------------------------------------------------------------------------------------

/** Whether `value` is or holds a CryptoKey (a DPoP key pair on its way into the store). */
function holdsCryptoKey(value: unknown, depth = 3): boolean {
  if (value instanceof CryptoKey) return true
  if (depth === 0 || typeof value !== 'object' || value === null) return false
  return Object.values(value).some((inner) => holdsCryptoKey(inner, depth - 1))
}

describe('6. the DPoP key', () => {
  const withDpop = () => rebuiltConfig({ dpop: true, apiOrigins: [new URL(dpop.issuer).origin] })

  it('is the one the tokens are bound to after two tabs started a sign-in at once', async () => {
    const world = createWorld()
    const config = withDpop()
    // The discovery document is in the store already, as after any earlier visit: both tabs reach
    // the DPoP key without waiting on the network, so they ask for it at the same moment.
    const visit = openTab(dpop, world)
    await visit.auth.createSignInUrl()
    visit.auth.dispose()

    // Each tab sees the same store, and the test sees which tab writes a key into it.
    const keyWrites: string[] = []
    const viewOf = (tab: string): World => ({
      ...world,
      store: {
        ...world.store,
        get: (key) => world.store.get(key),
        set: (key, value) => (holdsCryptoKey(value) && keyWrites.push(tab), world.store.set(key, value)),
        update: <T>(key: string, updater: (current: T | undefined) => T | undefined) =>
          world.store.update<T>(key, (current) => {
            const next = updater(current)
            if (holdsCryptoKey(next)) keyWrites.push(tab)
            return next
          }),
      },
    })
    const tabs = { a: openTab(dpop, viewOf('a'), {}, config), b: openTab(dpop, viewOf('b'), {}, config) }
    await Promise.all([tabs.a.auth.ready(), tabs.b.auth.ready()])
    const urls = { a: '', b: '' }
    ;[urls.a, urls.b] = await Promise.all([tabs.a.auth.createSignInUrl(), tabs.b.auth.createSignInUrl()])

    // Complete the sign-in of the tab whose key the other tab wrote over, if one did.
    const signer = keyWrites.includes('a') && keyWrites.includes('b') && keyWrites.at(-1) === 'a' ? 'b' : 'a'
    await tabs[signer].auth.handleRedirectCallback(await dpop.authorize(urls[signer]))
    expect(tabs[signer].auth.getSnapshot()).toMatchObject({ status: 'signed-in' })
    tabs.a.auth.dispose()
    tabs.b.auth.dispose()

    const reload = openTab(dpop, world, {}, config)
    await reload.auth.ready()
    const userinfo = await reload.auth.fetch((await discoveryOf(dpop)).userinfo_endpoint)
    expect(userinfo.status, await userinfo.clone().text()).toBe(200)
  })

  it('survives one failed store read after the session loaded', async () => {
    const unreliable = unreliableStore()
    const world = createWorld(unreliable.store)
    const config = withDpop()
    const first = openTab(dpop, world, {}, config)
    await signIn(dpop, first.auth)
    first.auth.dispose()

    const reload = openTab(dpop, world, {}, config)
    await reload.auth.ready()
    let reads = 0
    unreliable.fail('get', () => reads++ === 0)
    const userinfo = await reload.auth.fetch((await discoveryOf(dpop)).userinfo_endpoint)

    expect(userinfo.status).toBe(200)
    expect(reload.auth.getSnapshot()).toMatchObject({ status: 'signed-in' })
  })
})

// ---------------------------------------------------------------------------------------------
// 7. A failed delete at sign-out is reported as success.
// ---------------------------------------------------------------------------------------------

describe('7. a sign-out whose store cannot delete', () => {
  it('rejects with storage_error, and still signs this tab and the others out', async () => {
    const unreliable = unreliableStore()
    const world = createWorld(unreliable.store)
    const a = openTab(strict, world)
    await signIn(strict, a.auth)
    const b = openTab(strict, world)
    await b.auth.ready()

    unreliable.fail('del')
    const error = await rejection(a.auth.signOut({ redirect: false }))
    await world.browser.idle()

    expect(isAuthError(error, 'storage_error'), String(error)).toBe(true)
    expect(a.auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'signed-out' })
    expect(b.auth.getSnapshot()).toMatchObject({ status: 'signed-out', reason: 'other-tab' })
  })
})

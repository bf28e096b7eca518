// @vitest-environment node
import { readFileSync } from 'node:fs'
import { SignJWT, importJWK, type JWK } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { isAuthError, type AuthErrorCode } from '../../src/index.js'
import { hostHooks } from '../support/host-hooks.js'
import { startTestProvider, type TestProvider } from '../support/provider.js'
import {
  APP,
  countingStore,
  createWorld,
  disposeOpenTabs,
  openTab,
  recordStatuses,
  rejection,
  sessionKey,
  signIn,
  signedIn,
  userinfoEndpoint,
  type Network,
  type StoredSession,
} from '../support/world.js'

afterEach(disposeOpenTabs)

let short: TestProvider
let medium: TestProvider
let long: TestProvider
let authing: TestProvider

beforeAll(async () => {
  const redirectUris = [`${APP}/callback`]
  ;[short, medium, long, authing] = await Promise.all([
    startTestProvider({ profile: 'strict', accessTokenTtlSeconds: 15, redirectUris }),
    startTestProvider({ profile: 'strict', accessTokenTtlSeconds: 120, redirectUris }),
    startTestProvider({ profile: 'strict', accessTokenTtlSeconds: 7200, redirectUris }),
    startTestProvider({ profile: 'authing-like', accessTokenTtlSeconds: 120, redirectUris }),
  ])
})
afterAll(async () => {
  await Promise.all([short, medium, long, authing].map((provider) => provider?.close()))
})

describe('the proactive refresh', () => {
  it('refreshes a 15-s token once, a quarter of its life before expiry, and never loops', async () => {
    const world = createWorld()
    const { auth, network } = openTab(short, world)
    await signIn(short, auth)
    const signedInAt = world.clock.now()
    short.resetRequests()
    const first = signedIn(auth)
    expect(first.expiresAt).toBe(signedInAt + 15_000)
    // A quarter of 15 s is 3.75 s; the jitter (a twentieth of the life, at most 5 s) only makes it earlier.
    const lead = first.expiresAt - auth.nextRefreshAt()!
    expect(lead).toBeGreaterThanOrEqual(3_750)
    expect(lead).toBeLessThanOrEqual(3_750 + 750)

    for (const end = signedInAt + 45_000; world.clock.now() < end;) {
      await world.clock.advance(250)
      const token = await auth.getAccessToken()
      const state = signedIn(auth)
      expect(state.expiresAt).toBeGreaterThan(world.clock.now())
      const latest = network.tokenRequests().at(-1)!
      expect(token).toBe(latest.issued?.accessToken)
      expect(world.clock.now()).toBeLessThan(latest.at + latest.issued!.expiresInSeconds * 1000)
    }

    // Each token lives 11.25 s at most (three quarters of 15 s) before its refresh, so 45 s see
    // exactly four refreshes: one per token, each 3.75–4.5 s before that token expired.
    const refreshes = network.tokenRequests('refresh_token')
    expect(refreshes).toHaveLength(4)
    expect(short.countRequests({ path: new URL(refreshes[0]!.url).pathname, grantType: 'refresh_token' })).toBe(4)
    const issuedAt = [signedInAt, ...refreshes.map((refresh) => refresh.at)]
    refreshes.forEach((refresh, index) => {
      const previousExpiry = issuedAt[index]! + 15_000
      expect(previousExpiry - refresh.at).toBeGreaterThanOrEqual(3_750)
      expect(previousExpiry - refresh.at).toBeLessThanOrEqual(4_500)
      expect(refresh.status).toBe(200)
    })
    // Three token lifetimes, counted from sign-in: three refreshes by 33.75 s, never more.
    expect(refreshes.filter((refresh) => refresh.at <= signedInAt + 33_750)).toHaveLength(3)
  })

  it('refreshes as soon as a tab that slept past the refresh time wakes', async () => {
    const world = createWorld()
    const { auth, network } = openTab(medium, world)
    await signIn(medium, auth)
    const { expiresAt } = signedIn(auth)

    world.clock.jump(expiresAt - 10_000 - world.clock.now())
    await world.browser.idle()
    expect(network.tokenRequests('refresh_token')).toHaveLength(0)

    world.browser.wake()
    await world.browser.idle()
    expect(network.tokenRequests('refresh_token')).toHaveLength(1)
    expect(auth.getSnapshot()).toMatchObject({
      status: 'signed-in',
      error: null,
      expiresAt: world.clock.now() + 120_000,
    })
  })

  it('plans the refresh of a 2-hour token 60 to 65 s before expiry', async () => {
    const world = createWorld()
    const { auth } = openTab(long, world)
    await signIn(long, auth)
    const { expiresAt } = signedIn(auth)
    expect(expiresAt).toBe(world.clock.now() + 7_200_000)
    const lead = expiresAt - auth.nextRefreshAt()!
    expect(lead).toBeGreaterThanOrEqual(60_000)
    expect(lead).toBeLessThanOrEqual(65_000)
  })
})

describe('getAccessToken()', () => {
  it('hands out a valid token without touching the network or the store', async () => {
    const counted = countingStore()
    const world = createWorld(counted.store)
    const { auth, network } = openTab(medium, world)
    await signIn(medium, auth)
    await world.browser.idle()
    const requestsBefore = network.exchanges.length
    counted.reset()

    await world.clock.advance(30_000)
    const tokens = new Set<string>()
    for (let call = 0; call < 1_000; call++) tokens.add(await auth.getAccessToken())
    expect(tokens.size).toBe(1)
    expect(network.exchanges).toHaveLength(requestsBefore)
    expect(counted.calls()).toBe(0)
  })

  it.each([
    { browser: 'with Web Locks', locks: true },
    { browser: 'without Web Locks', locks: false },
  ])('makes one refresh request for 100 concurrent callers at expiry ($browser)', async ({ locks }) => {
    const world = createWorld()
    const { auth, network } = openTab(short, world, locks ? {} : { locks: undefined })
    await signIn(short, auth)
    const before = await auth.getAccessToken()
    short.resetRequests()
    const locksBefore = world.browser.lockRequests()

    world.clock.jump(signedIn(auth).expiresAt - world.clock.now())
    const tokens = await Promise.all(Array.from({ length: 100 }, () => auth.getAccessToken()))
    // One flight in the tab: the callers share it, so the tab asks for the lock once.
    expect(world.browser.lockRequests() - locksBefore).toBe(locks ? 1 : 0)
    expect(new Set(tokens).size).toBe(1)
    expect(tokens[0]).not.toBe(before)
    expect(network.tokenRequests('refresh_token')).toHaveLength(1)
    expect(
      short.countRequests({ path: new URL(network.tokenRequests()[0]!.url).pathname, grantType: 'refresh_token' }),
    ).toBe(1)
    expect(signedIn(auth).expiresAt).toBe(world.clock.now() + 15_000)
  })
})

const outages: Array<{ failure: string; code: AuthErrorCode; answer: () => Response; everywhere?: boolean }> = [
  {
    failure: 'the network fails',
    code: 'network_error',
    // Offline: discovery fails too, so this is not mistaken for a token endpoint without CORS.
    everywhere: true,
    answer: () => {
      throw new TypeError('fetch failed')
    },
  },
  {
    failure: 'the token endpoint answers 500',
    code: 'provider_unavailable',
    answer: () => new Response('Internal Server Error', { status: 500, headers: { 'content-type': 'text/plain' } }),
  },
  {
    failure: 'the token endpoint answers an HTML page with 200',
    code: 'invalid_response',
    answer: () =>
      new Response('<!DOCTYPE html><html><body>Down for maintenance</body></html>', {
        status: 200,
        headers: { 'content-type': 'text/html' },
      }),
  },
]

/** Makes the token endpoint fail with `answer` while `down()` is true; everything else goes through. */
function outageAt(network: Network, answer: () => Response, everywhere = false) {
  let down = false
  network.intercept(({ params }) => (down && (everywhere || params.has('grant_type')) ? answer() : undefined))
  return {
    start: () => void (down = true),
    end: () => void (down = false),
  }
}

describe('a refresh that fails without a rejection', () => {
  it.each(outages)(
    'keeps the session and retries after 1, 2, 4 … 128 s when $failure',
    async ({ code, answer, everywhere }) => {
      const world = createWorld()
      // random() = 0.5: full jitter then takes half of each ceiling (2 s × 2^attempt, at least 1 s).
      const { auth, network } = openTab(medium, world, { random: () => 0.5 })
      await signIn(medium, auth)
      const statuses = recordStatuses(auth)
      const outage = outageAt(network, answer, everywhere)
      const attempts = () => network.tokenRequests('refresh_token').length

      outage.start()
      await world.clock.advance(auth.nextRefreshAt()! - world.clock.now())
      expect(attempts()).toBe(1)
      expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: { code } })

      for (const delayMs of [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000]) {
        const before = attempts()
        await world.clock.advance(delayMs - 1)
        expect(attempts()).toBe(before)
        await world.clock.advance(1)
        expect(attempts()).toBe(before + 1)
        expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: { code } })
      }
      expect(await world.store.get(sessionKey(medium))).toBeDefined()

      outage.end()
      await world.clock.advance(127_999)
      expect(attempts()).toBe(8)
      await world.clock.advance(1)
      expect(attempts()).toBe(9)
      expect(network.tokenRequests('refresh_token').at(-1)?.status).toBe(200)
      expect(auth.getSnapshot()).toMatchObject({
        status: 'signed-in',
        user: { sub: 'alice' },
        error: null,
        expiresAt: world.clock.now() + 120_000,
      })
      const userinfo = await auth.fetch(await userinfoEndpoint(medium))
      expect(userinfo.status).toBe(200)

      // A success starts the backoff over: the next outage is retried after 1 s again.
      outage.start()
      await world.clock.advance(auth.nextRefreshAt()! - world.clock.now())
      expect(attempts()).toBe(10)
      await world.clock.advance(999)
      expect(attempts()).toBe(10)
      await world.clock.advance(1)
      expect(attempts()).toBe(11)
      expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: { code } })

      expect(statuses).not.toContain('signed-out')
    },
  )

  it('hands out the old token while it is valid without asking before the retry time, then rejects with the transport code and keeps the session', async () => {
    const world = createWorld()
    const { auth, network } = openTab(medium, world)
    await signIn(medium, auth)
    const statuses = recordStatuses(auth)
    const old = await auth.getAccessToken()
    const { expiresAt } = signedIn(auth)
    outageAt(network, outages[0]!.answer, true).start()

    // Past the leeway (30 s before expiry), before expiry: the background refresh has failed.
    await world.clock.advance(expiresAt - 20_000 - world.clock.now())
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: { code: 'network_error' } })
    const attempts = network.tokenRequests('refresh_token').length
    expect(await auth.getAccessToken()).toBe(old)
    // The failure set a retry time every tab waits for: a caller does not make the tab ask sooner.
    expect(network.tokenRequests('refresh_token')).toHaveLength(attempts)

    await world.clock.advance(expiresAt + 1 - world.clock.now())
    const error = await rejection(auth.getAccessToken())
    expect(isAuthError(error, 'network_error'), String(error)).toBe(true)
    expect(auth.getSnapshot()).toMatchObject({
      status: 'signed-in',
      user: { sub: 'alice' },
      error: { code: 'network_error' },
    })
    expect(await world.store.get(sessionKey(medium))).toBeDefined()
    expect(statuses).not.toContain('signed-out')
  })
})

describe('an invalid_grant answer', () => {
  /**
   * Signs in, then opens a second tab whose store holds a copy of the session with the refresh
   * token "stale", as if another tab without Web Locks had rotated it meanwhile.
   */
  async function staleTab(writeBack: boolean) {
    const world = createWorld()
    const first = openTab(authing, world)
    await signIn(authing, first.auth)
    first.auth.dispose()
    const real = (await world.store.get<StoredSession>(sessionKey(authing)))!
    expect(real.tokens.refreshToken).toBeTypeOf('string')
    await world.store.set(sessionKey(authing), { ...real, tokens: { ...real.tokens, refreshToken: 'stale' } })

    const tab = openTab(authing, world)
    tab.network.intercept(async ({ params }) => {
      if (params.get('grant_type') !== 'refresh_token' || params.get('refresh_token') !== 'stale') return undefined
      if (writeBack) await world.store.set(sessionKey(authing), real)
      return new Response(JSON.stringify({ error: 'invalid_grant', error_description: 'grant request is invalid' }), {
        status: 400,
        headers: { 'content-type': 'application/json' },
      })
    })
    await tab.auth.ready()
    expect(tab.auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice' } })
    authing.resetRequests()
    return { world, real, ...tab }
  }

  it('re-reads the store once and retries with the refresh token another tab wrote', async () => {
    const { world, real, auth, network } = await staleTab(true)
    await world.clock.advance(auth.nextRefreshAt()! - world.clock.now())

    expect(network.tokenRequests().map((request) => [request.refreshToken, request.status])).toEqual([
      ['stale', 400],
      [real.tokens.refreshToken, 200],
    ])
    expect(authing.countRequests({ grantType: 'refresh_token' })).toBe(1)
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed-in', user: { sub: 'alice' }, error: null })
    const stored = await world.store.get<StoredSession>(sessionKey(authing))
    expect(stored?.tokens.refreshToken).toBe(real.tokens.refreshToken)
    expect(stored?.tokens.accessToken).not.toBe(real.tokens.accessToken)
    expect(await auth.getAccessToken()).toBe(stored?.tokens.accessToken)
    expect((await auth.fetch(await userinfoEndpoint(authing))).status).toBe(200)
  })

  it('ends the session with reason refresh-rejected when the store holds nothing newer', async () => {
    const { world, auth, network } = await staleTab(false)
    await world.clock.advance(auth.nextRefreshAt()! - world.clock.now())

    expect(network.tokenRequests().map((request) => [request.refreshToken, request.status])).toEqual([['stale', 400]])
    expect(auth.getSnapshot()).toMatchObject({
      status: 'signed-out',
      reason: 'refresh-rejected',
      error: { code: 'grant_rejected' },
    })
    expect(await world.store.get(sessionKey(authing))).toBeUndefined()
    expect(isAuthError(await rejection(auth.getAccessToken()), 'not_signed_in')).toBe(true)
  })
})

describe('a refreshed ID token', () => {
  it('naming another subject ends the session with reason subject-changed (OIDC Core §12.2)', async () => {
    const world = createWorld()
    const { auth, network } = openTab(medium, world)
    await signIn(medium, auth)

    // The provider's real answer, with its ID token swapped for one the same provider key signed
    // for another user: only the subject differs.
    const jwks = JSON.parse(readFileSync(new URL('../support/provider-keys.json', import.meta.url), 'utf8')) as {
      keys: JWK[]
    }
    const jwk = jwks.keys.find((key) => key.alg === 'RS256')!
    const key = await importJWK(jwk, 'RS256')
    network.intercept(async ({ url, params }) => {
      if (params.get('grant_type') !== 'refresh_token') return undefined
      const real = await globalThis.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: params,
      })
      const body = (await real.json()) as Record<string, unknown>
      const nowSeconds = Math.floor(world.clock.now() / 1000)
      body['id_token'] = await new SignJWT({ name: 'Bob Example' })
        .setProtectedHeader({ alg: 'RS256', kid: jwk.kid! })
        .setIssuer(medium.issuer)
        .setAudience(medium.clientId)
        .setSubject('bob')
        .setIssuedAt(nowSeconds)
        .setExpirationTime(nowSeconds + 3600)
        .sign(key)
      return new Response(JSON.stringify(body), {
        status: 200,
        headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      })
    })

    await world.clock.advance(auth.nextRefreshAt()! - world.clock.now())
    expect(network.tokenRequests('refresh_token')).toHaveLength(1)
    expect(auth.getSnapshot()).toMatchObject({
      status: 'signed-out',
      reason: 'subject-changed',
      user: null,
      error: { code: 'subject_changed' },
    })
    expect(await world.store.get(sessionKey(medium))).toBeUndefined()
    expect(isAuthError(await rejection(auth.getAccessToken()), 'not_signed_in')).toBe(true)
  })
})

describe('a refresh the page cuts off by unloading', () => {
  it('records no failure: the stored session is as it was, with no error for the next page', async () => {
    const world = createWorld()
    let unloading = false
    const { auth, network } = openTab(medium, world, hostHooks({ unloading: () => unloading }))
    await signIn(medium, auth)
    const before = await world.store.get(sessionKey(medium))
    // The reload cuts the request off: the browser reports it as a failed fetch.
    network.intercept(({ params }) => {
      if (params.get('grant_type') !== 'refresh_token') return undefined
      unloading = true
      throw new TypeError('NetworkError when attempting to fetch resource.')
    })

    await rejection(auth.refresh())

    expect(await world.store.get(sessionKey(medium))).toEqual(before)
    const next = openTab(medium, world)
    await next.auth.ready()
    expect(next.auth.getSnapshot()).toMatchObject({ status: 'signed-in', error: null })
  })
})

// @vitest-environment node
import { decodeJwt } from 'jose'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  createAuthClient,
  createMemoryStore,
  isAuthError,
  type AuthClient,
  type AuthConfig,
  type AuthError,
  type AuthErrorCode,
  type AuthState,
  type KeyValueStore,
} from '../src/index.js'
import { expectNoSecretInErrors, noteError, noteSecrets, textOf, watchErrors } from './support/error-collector.js'
import { startHostileProvider, type HostileProvider, type Misbehaviour } from './support/hostile-provider.js'

const APP_ORIGIN = 'http://127.0.0.1:5173'
const TEN_MINUTES_MS = 10 * 60_000

let hostile: HostileProvider
const clients: AuthClient[] = []

beforeAll(async () => {
  hostile = await startHostileProvider({ redirectUri: `${APP_ORIGIN}/callback` })
})
afterAll(async () => {
  await hostile.close()
})
afterAll(async () => {
  noteSecrets(hostile.issued)
  noteSecrets(hostile.received)
  await expectNoSecretInErrors({ errors: 30, secrets: 150 })
})
beforeEach(() => {
  hostile.misbehave('none')
})
afterEach(() => {
  for (const client of clients.splice(0)) client.dispose()
})

interface AppOptions {
  config?: Partial<AuthConfig>
  store?: KeyValueStore
  now?: () => number
}

/** A client in a fake page: the address bar, `replaceUrl` and `navigate` are observable. */
function openApp(options: AppOptions = {}) {
  let address = `${APP_ORIGIN}/`
  const replaceUrl = vi.fn((url: string) => {
    address = url
  })
  const navigate = vi.fn()
  const store = options.store ?? createMemoryStore()
  const auth = createAuthClient(
    { issuer: hostile.issuer, clientId: hostile.clientId, redirectUri: hostile.redirectUri, ...options.config },
    {
      store,
      environment: { currentUrl: () => address, replaceUrl, navigate, ...(options.now ? { now: options.now } : {}) },
    },
  )
  clients.push(auth)
  watchErrors(auth)
  return {
    auth,
    store,
    replaceUrl,
    navigate,
    /** Puts `url` in the address bar, as a redirect from the provider would. */
    visit(url: string) {
      address = url
    },
  }
}

type App = ReturnType<typeof openApp>

/** The full round trip: authorize URL → provider → callback. */
async function signIn(app: App, returnTo = '/orders') {
  const callbackUrl = await hostile.authorize(await app.auth.createSignInUrl({ returnTo }))
  const result = await app.auth.handleRedirectCallback(callbackUrl)
  if (!result.signedIn) throw new Error(`expected a signed-in callback, got ${result.reason}`)
  return result
}

interface Session {
  snapshot: AuthState
  accessToken: string
}

/** Completes a good sign-in and returns what must survive every later failure. */
async function establishSession(app: App): Promise<Session> {
  await signIn(app)
  const snapshot = app.auth.getSnapshot()
  expect(snapshot.status).toBe('signed-in')
  return { snapshot, accessToken: await app.auth.getAccessToken() }
}

/** Starts a second sign-in and returns the callback the provider answered with, untouched. */
async function secondCallback(app: App): Promise<string> {
  return hostile.authorize(await app.auth.createSignInUrl({ returnTo: '/second' }))
}

function withParams(url: string, changes: Record<string, string | null>): string {
  const changed = new URL(url)
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) changed.searchParams.delete(name)
    else changed.searchParams.set(name, value)
  }
  return changed.href
}

function randomState(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
}

/** Awaits `promise`, expects an AuthError with `code` and a message a person can act on. */
async function expectAuthError(promise: Promise<unknown>, code: AuthErrorCode): Promise<AuthError> {
  const outcome: unknown = await promise.then(
    () => new Error('it resolved'),
    (reason: unknown) => noteError(reason),
  )
  if (!isAuthError(outcome))
    throw new Error(`expected an AuthError "${code}", got ${String(outcome)}`, { cause: outcome })
  expect(outcome.code, outcome.message).toBe(code)
  expectHelpfulMessage(outcome)
  return outcome
}

/** `promise`, or a rejection naming `what` when it has not settled within `ms`. */
async function settledWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} had not settled after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}

function expectHelpfulMessage(error: Error): void {
  expect(error.message).toMatch(/^\S[\s\S]{39,}[.!?]$/)
  expect(error.message).not.toMatch(/undefined|\[object Object\]/)
}

/** The session is still there, in this client and for the next page load (same store). */
async function expectSessionKept(app: App, before: Session): Promise<void> {
  const snapshot = app.auth.getSnapshot()
  expect(snapshot.status).toBe('signed-in')
  expect(snapshot.user).toEqual(before.snapshot.user)
  expect(snapshot.expiresAt).toBe(before.snapshot.expiresAt)
  expect(await app.auth.getAccessToken()).toBe(before.accessToken)
  const reloaded = openApp({ store: app.store })
  await reloaded.auth.ready()
  expect(reloaded.auth.getSnapshot().user).toEqual(before.snapshot.user)
  expect(await reloaded.auth.getAccessToken()).toBe(before.accessToken)
}

describe('the authorization request', () => {
  it('carries PKCE S256, a fresh state and nonce, and prompt=consent for the default offline_access scope', async () => {
    const { auth } = openApp()
    const first = new URL(await auth.createSignInUrl())
    const second = new URL(await auth.createSignInUrl())
    expect(`${first.origin}${first.pathname}`).toBe(`${hostile.issuer}/auth`)
    expect(first.searchParams.get('response_type')).toBe('code')
    expect(first.searchParams.get('code_challenge_method')).toBe('S256')
    expect(first.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/)
    expect(first.searchParams.get('state')).toMatch(/^[\w-]{20,}$/)
    expect(first.searchParams.get('nonce')).toMatch(/^[\w-]{20,}$/)
    expect(first.searchParams.get('scope')?.split(' ')).toContain('offline_access')
    expect(first.searchParams.get('prompt')).toBe('consent')
    expect(second.searchParams.get('state')).not.toBe(first.searchParams.get('state'))
    expect(second.searchParams.get('nonce')).not.toBe(first.searchParams.get('nonce'))
    expect(second.searchParams.get('code_challenge')).not.toBe(first.searchParams.get('code_challenge'))
  })

  it('adds no prompt when the scope does not ask for offline_access', async () => {
    const { auth } = openApp({ config: { scope: 'openid profile' } })
    const url = new URL(await auth.createSignInUrl())
    expect(url.searchParams.get('scope')).toBe('openid profile')
    expect(url.searchParams.has('prompt')).toBe(false)
  })
})

describe('a callback that was tampered with, replayed or unexpected', () => {
  it('refuses a callback whose state was altered while a sign-in is pending, and keeps the session', async () => {
    const app = openApp()
    const session = await establishSession(app)
    const callbackUrl = withParams(await secondCallback(app), { state: randomState() })
    await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), 'state_mismatch')
    await expectSessionKept(app, session)
  })

  it('refuses the same callback handled a second time by another client sharing the store, after one token request', async () => {
    const app = openApp()
    const session = await establishSession(app)
    const tokenRequestsBefore = hostile.tokenRequests
    const callbackUrl = await secondCallback(app)
    const { returnTo } = await app.auth.handleRedirectCallback(callbackUrl)
    expect(returnTo).toBe('/second')
    const renewed: Session = { snapshot: app.auth.getSnapshot(), accessToken: await app.auth.getAccessToken() }
    expect(renewed.accessToken).not.toBe(session.accessToken)

    const otherTab = openApp({ store: app.store })
    await expectAuthError(otherTab.auth.handleRedirectCallback(callbackUrl), 'callback_replayed')
    expect(hostile.tokenRequests - tokenRequestsBefore).toBe(1)
    await expectSessionKept(app, renewed)
  })

  it('reports error=access_denied as authorization_error naming access_denied, and keeps the session', async () => {
    const app = openApp()
    const session = await establishSession(app)
    const callbackUrl = withParams(await secondCallback(app), {
      code: null,
      error: 'access_denied',
      error_description: 'The user declined.',
    })
    const error = await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), 'authorization_error')
    const cause = error.cause as { error?: unknown } | undefined
    expect(
      [error.message, cause?.error].some((text) => typeof text === 'string' && text.includes('access_denied')),
    ).toBe(true)
    await expectSessionKept(app, session)
  })

  it('reports transaction_not_found for a state no sign-in was started for, with no sign-in pending', async () => {
    const app = openApp()
    const session = await establishSession(app)
    const callbackUrl = `${hostile.redirectUri}?${new URLSearchParams({ code: 'forged-code', state: randomState(), iss: hostile.issuer })}`
    await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), 'transaction_not_found')
    await expectSessionKept(app, session)
  })

  it('reports transaction_expired for a sign-in started more than ten minutes ago, and keeps the session', async () => {
    let clock = Date.now()
    const app = openApp({ now: () => clock })
    const session = await establishSession(app)
    const tokenRequestsBefore = hostile.tokenRequests
    const callbackUrl = await secondCallback(app)
    clock += TEN_MINUTES_MS + 1000
    await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), 'transaction_expired')
    expect(hostile.tokenRequests).toBe(tokenRequestsBefore)
    await expectSessionKept(app, session)
  })

  it('reports response_issuer_mismatch for a callback whose iss is another issuer (RFC 9207), and keeps the session', async () => {
    const app = openApp()
    const session = await establishSession(app)
    const tokenRequestsBefore = hostile.tokenRequests
    const callbackUrl = withParams(await secondCallback(app), { iss: 'https://evil.example/oidc' })
    const error = await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), 'response_issuer_mismatch')
    expect(error.message).toContain('https://evil.example/oidc')
    expect(hostile.tokenRequests).toBe(tokenRequestsBefore)
    await expectSessionKept(app, session)
  })
})

describe("a callback handed over as a path (a router's route.fullPath)", () => {
  it('is recognised and completed, resolved against the page, and leaves the address bar clean', async () => {
    const app = openApp()
    const callback = new URL(await secondCallback(app))
    app.visit(callback.href)
    const path = `${callback.pathname}${callback.search}`

    expect(app.auth.isRedirectCallback(path)).toBe(true)
    const result = await app.auth.handleRedirectCallback(path)

    expect(result).toMatchObject({ signedIn: true, returnTo: '/second' })
    expect(app.replaceUrl).toHaveBeenCalledTimes(1)
    expect(new URL(app.replaceUrl.mock.calls[0]![0]).search).toBe('')
  })

  it('is resolved against the redirect URI where the page has no address (a server)', async () => {
    const app = openApp()
    const callback = new URL(await secondCallback(app))
    const serverSide = createAuthClient(
      { issuer: hostile.issuer, clientId: hostile.clientId, redirectUri: hostile.redirectUri },
      {
        store: app.store,
        environment: {
          currentUrl: () => {
            throw new ReferenceError('location is not defined')
          },
        },
      },
    )
    clients.push(serverSide)

    expect(serverSide.isRedirectCallback(`${callback.pathname}${callback.search}`)).toBe(true)
    expect(serverSide.isRedirectCallback()).toBe(false)
  })

  it.each(['http://[::1/callback?code=SECRETCODE&state=x', 'https://', '//', ''])(
    'isRedirectCallback(%j) is false, and handleRedirectCallback rejects with not_a_callback, holding no code',
    async (garbage) => {
      const { auth } = openApp()
      noteSecrets(['SECRETCODE'])

      expect(auth.isRedirectCallback(garbage)).toBe(false)
      const error = await expectAuthError(auth.handleRedirectCallback(garbage), 'not_a_callback')
      expect(await textOf(error)).not.toContain('SECRETCODE')
    },
  )

  it.each([null, 42, {}])('isRedirectCallback(%j), from untyped code, is false', (value) => {
    const { auth } = openApp()
    expect(auth.isRedirectCallback(value as unknown as string)).toBe(false)
  })
})

describe('an ID token that must be refused', () => {
  it.each<[Misbehaviour, AuthErrorCode]>([
    ['wrong-nonce', 'id_token_invalid'],
    ['wrong-aud', 'id_token_invalid'],
    ['wrong-iss-claim', 'id_token_invalid'],
    ['expired-id-token', 'id_token_expired'],
    ['bad-signature', 'id_token_signature_invalid'],
    // The checks oauth4webapi leaves to the application (OIDC Core §3.1.3.7).
    ['future-iat', 'id_token_invalid'],
    ['foreign-azp', 'id_token_invalid'],
  ])('%s is refused with %s and the existing session is kept', async (misbehaviour, code) => {
    const app = openApp()
    const session = await establishSession(app)
    const callbackUrl = await secondCallback(app)
    hostile.misbehave(misbehaviour)
    await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), code)
    await expectSessionKept(app, session)
  })

  it('refuses an ID token whose auth_time is older than max_age with id_token_invalid, and accepts it without max_age', async () => {
    const app = openApp({ config: { authorizeParams: { max_age: '60' } } })
    const session = await establishSession(app)
    const callbackUrl = await secondCallback(app)
    hostile.misbehave('old-auth-time')
    const error = await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), 'id_token_invalid')
    expect(error.message).toMatch(/max_age|auth_time/)
    await expectSessionKept(app, session)

    const withoutMaxAge = openApp()
    await signIn(withoutMaxAge)
    expect(withoutMaxAge.auth.getSnapshot().status).toBe('signed-in')
  })

  it('refuses an ID token that expired 40 s ago with the default clock tolerance, and accepts it with clockToleranceSeconds: 60', async () => {
    const app = openApp()
    const session = await establishSession(app)
    const callbackUrl = await secondCallback(app)
    hostile.misbehave('id-token-expired-40s-ago')
    await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), 'id_token_expired')
    await expectSessionKept(app, session)

    const tolerant = openApp({ config: { clockToleranceSeconds: 60 } })
    await signIn(tolerant)
    expect(tolerant.auth.getSnapshot().status).toBe('signed-in')
  })

  it('refuses an HS256 ID token with id_token_alg_unsupported and tells to use RS256', async () => {
    const app = openApp()
    const session = await establishSession(app)
    const callbackUrl = await secondCallback(app)
    hostile.misbehave('hs256')
    const error = await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), 'id_token_alg_unsupported')
    expect(error.message).toContain('HS256')
    expect(error.message).toContain('RS256')
    await expectSessionKept(app, session)
  })

  it.each<Misbehaviour>(['hs256-advertised', 'alg-none-advertised'])(
    '%s: refuses the algorithm even when the discovery document lists it',
    async (misbehaviour) => {
      hostile.misbehave(misbehaviour)
      const app = openApp()
      const callbackUrl = await secondCallback(app)
      await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), 'id_token_alg_unsupported')
      expect(app.auth.getSnapshot().status).toBe('signed-out')
    },
  )

  it('refuses an unsigned alg "none" ID token with id_token_alg_unsupported', async () => {
    const app = openApp()
    const session = await establishSession(app)
    const callbackUrl = await secondCallback(app)
    hostile.misbehave('alg-none')
    const error = await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), 'id_token_alg_unsupported')
    expect(error.message).toContain('none')
    await expectSessionKept(app, session)
  })
})

describe('a token endpoint that fails', () => {
  it.each<[Misbehaviour, AuthErrorCode]>([
    ['token-500', 'provider_unavailable'],
    ['token-html', 'invalid_response'],
    ['token-hang', 'timeout'],
    ['token-hang-body', 'timeout'],
    ['token-reset', 'network_error'],
    ['token-invalid-grant', 'grant_rejected'],
  ])('%s is reported as %s and the existing session is kept', async (misbehaviour, code) => {
    const app = openApp({ config: { requestTimeoutMs: 300 } })
    const session = await establishSession(app)
    const callbackUrl = await secondCallback(app)
    hostile.misbehave(misbehaviour)
    const handled = settledWithin(
      app.auth.handleRedirectCallback(callbackUrl),
      2000,
      'handleRedirectCallback with requestTimeoutMs: 300',
    )
    const error = await expectAuthError(handled, code)
    if (code === 'grant_rejected') expect(error.message).toContain('invalid_grant')
    hostile.misbehave('none')
    await expectSessionKept(app, session)
  })
})

describe('an error that can be read whole', () => {
  it("a request cut off by requestTimeoutMs rejects with timeout whose cause's name and message read, down the whole chain", async () => {
    const app = openApp({ config: { requestTimeoutMs: 300 } })
    const callbackUrl = await secondCallback(app)
    hostile.misbehave('token-hang')

    const error = await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), 'timeout')

    const cause = error.cause as Error & { className?: unknown }
    expect(cause.name).toBe('AbortError')
    expect(cause.message).toMatch(/abort/i)
    expect(cause.className).toBe('DOMException')
    // Every field of every cause, getters included: what an error tracker does with it.
    await expect(textOf(error)).resolves.toContain('AbortError')
  })
})

describe('what an app can branch on without reading messages', () => {
  it.each<[Misbehaviour, AuthErrorCode, Partial<Record<'oauthError' | 'status' | 'retryAfterMs', unknown>>]>([
    ['token-invalid-grant', 'grant_rejected', { oauthError: 'invalid_grant', status: 400 }],
    ['token-500', 'provider_unavailable', { status: 500, oauthError: undefined }],
    ['token-429', 'rate_limited', { status: 429, retryAfterMs: 7000 }],
  ])('%s: %s carries %o', async (misbehaviour, code, fields) => {
    const app = openApp()
    const callbackUrl = await secondCallback(app)
    hostile.misbehave(misbehaviour)

    const error = await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), code)

    for (const [name, value] of Object.entries(fields)) expect(error[name as keyof typeof fields]).toBe(value)
  })

  it("an authorization error carries the provider's OAuth error", async () => {
    const app = openApp()
    const callbackUrl = withParams(await secondCallback(app), { code: null, error: 'access_denied' })

    const error = await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), 'authorization_error')

    expect(isAuthError(error, 'authorization_error') && error.oauthError).toBe('access_denied')
  })
})

describe('no token or code in an error', () => {
  it.each<Misbehaviour>(['token-without-token-type', 'token-without-id-token'])(
    '%s: the sign-in is refused, the session kept, and no token issued is in the error or its cause chain',
    async (misbehaviour) => {
      const app = openApp()
      const session = await establishSession(app)
      const callbackUrl = await secondCallback(app)
      hostile.misbehave(misbehaviour)
      const issuedBefore = hostile.issued.length
      const error = await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), 'invalid_response')
      // The refused answer carried at least an access and a refresh token.
      expect(hostile.issued.length - issuedBefore).toBeGreaterThanOrEqual(2)
      expect(error.cause).toBeDefined()
      const text = await textOf(error)
      for (const secret of hostile.issued) expect(text).not.toContain(secret)
      hostile.misbehave('none')
      await expectSessionKept(app, session)
    },
  )

  it.each<[Misbehaviour, AuthErrorCode]>([
    ['token-500-echo', 'provider_unavailable'],
    ['token-400-echo', 'grant_rejected'],
  ])(
    '%s on the code exchange: %s holds neither the code nor the PKCE verifier the request carried',
    async (misbehaviour, code) => {
      const app = openApp()
      const callbackUrl = await secondCallback(app)
      hostile.misbehave(misbehaviour)
      const receivedBefore = hostile.received.length

      const error = await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), code)

      const sent = hostile.received.slice(receivedBefore)
      expect(sent).toHaveLength(2)
      const text = await textOf(error)
      for (const secret of sent) expect(text).not.toContain(secret)
      // What helps a person stays: the provider's answer, with the credentials taken out.
      expect(text).toContain('grant_type=authorization_code')
    },
  )

  it.each<[Misbehaviour, AuthErrorCode]>([
    ['token-500-echo', 'provider_unavailable'],
    ['token-400-echo', 'grant_rejected'],
  ])('%s on a refresh: %s holds no refresh token, in the rejection or the snapshot', async (misbehaviour, code) => {
    const app = openApp()
    await establishSession(app)
    hostile.misbehave(misbehaviour)
    const receivedBefore = hostile.received.length

    const error = await expectAuthError(app.auth.refresh(), code)

    const sent = hostile.received.slice(receivedBefore)
    expect(sent.length).toBeGreaterThanOrEqual(1)
    for (const seen of [error, app.auth.getSnapshot().error]) {
      const text = await textOf(seen)
      for (const secret of sent) expect(text).not.toContain(secret)
    }
  })

  it('not_a_callback does not repeat the code of the address it was given', async () => {
    const { auth } = openApp()
    noteSecrets(['SECRETCODE'])
    const error = await expectAuthError(
      auth.handleRedirectCallback(`${APP_ORIGIN}/elsewhere?code=SECRETCODE&state=x`),
      'not_a_callback',
    )
    expect(await textOf(error)).not.toContain('SECRETCODE')
  })
})

describe('the configuration and the discovery document', () => {
  it('refuses a discovery document that names another issuer with issuer_mismatch', async () => {
    hostile.misbehave('discovery-other-issuer')
    const { auth } = openApp()
    const error = await expectAuthError(auth.createSignInUrl(), 'issuer_mismatch')
    expect(error.message).toContain('https://other.example/oidc')
  })

  it('refuses a plain http: issuer that is not loopback with insecure_issuer', () => {
    let thrown: unknown
    try {
      openApp({ config: { issuer: 'http://example.com' } })
    } catch (error) {
      thrown = noteError(error)
    }
    expect(isAuthError(thrown, 'insecure_issuer'), String(thrown)).toBe(true)
    expectHelpfulMessage(thrown as AuthError)
  })

  it.each(['https://example.com', 'http://localhost:1', 'http://127.0.0.1:1', 'http://[::1]:1'])(
    'accepts the issuer %s',
    (issuer) => {
      expect(() => openApp({ config: { issuer } })).not.toThrow()
    },
  )
})

describe('returnTo', () => {
  it.each(['https://evil.example/x', '//evil.example', '/\\evil.example'])(
    'refuses %s with invalid_return_to',
    async (returnTo) => {
      const { auth } = openApp()
      await expectAuthError(auth.createSignInUrl({ returnTo }), 'invalid_return_to')
    },
  )

  it('keeps a same-origin path with query and hash exactly and hands it back after the callback', async () => {
    const app = openApp()
    const { returnTo, user } = await signIn(app, '/orders?x=1#h')
    expect(returnTo).toBe('/orders?x=1#h')
    expect(user.sub).toBe(hostile.subject)
  })
})

describe("Authing's token response shapes", () => {
  it('unwraps a {statusCode, data} envelope and signs in', async () => {
    hostile.misbehave('authing-envelope')
    const app = openApp()
    const before = Date.now()
    const { user } = await signIn(app)
    const snapshot = app.auth.getSnapshot()
    expect(snapshot.status).toBe('signed-in')
    expect(user.sub).toBe(hostile.subject)
    expect(snapshot.expiresAt).toBeGreaterThanOrEqual(before + 3600_000)
    expect(snapshot.expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000)
  })

  it('reads expire_in when expires_in is missing', async () => {
    hostile.misbehave('authing-expire-in')
    const app = openApp()
    const before = Date.now()
    await signIn(app)
    const snapshot = app.auth.getSnapshot()
    expect(snapshot.status).toBe('signed-in')
    expect(snapshot.expiresAt).toBeGreaterThanOrEqual(before + 7200_000)
    expect(snapshot.expiresAt).toBeLessThanOrEqual(Date.now() + 7200_000)
  })

  it("takes the JWT access token's exp when no lifetime is given", async () => {
    hostile.misbehave('jwt-access-token-exp-only')
    const app = openApp()
    await signIn(app)
    const snapshot = app.auth.getSnapshot()
    const { exp } = decodeJwt(await app.auth.getAccessToken())
    expect(snapshot.status).toBe('signed-in')
    expect(exp).toBeGreaterThan(Date.now() / 1000 + 1200)
    // Provider and client share a clock here, so `exp` read as an instant and `exp − iat` read as a
    // lifetime agree to within the second `iat` was rounded down to.
    expect(Math.abs((snapshot.expiresAt ?? Number.NaN) - exp! * 1000)).toBeLessThan(1500)
  })
})

describe('the address bar after a callback', () => {
  it('drops code, state and iss from the address bar even when the callback fails', async () => {
    const app = openApp()
    const callbackUrl = withParams(await secondCallback(app), { state: randomState(), keep: 'me' })
    app.visit(callbackUrl)
    await expectAuthError(app.auth.handleRedirectCallback(), 'state_mismatch')
    expect(app.replaceUrl).toHaveBeenCalledTimes(1)
    const cleaned = new URL(app.replaceUrl.mock.calls[0]![0])
    expect(`${cleaned.origin}${cleaned.pathname}`).toBe(hostile.redirectUri)
    for (const name of ['code', 'state', 'iss']) expect(cleaned.searchParams.has(name)).toBe(false)
    expect(cleaned.searchParams.get('keep')).toBe('me')
  })

  it('leaves the address bar alone when the handled URL is not the current page', async () => {
    const app = openApp()
    const callbackUrl = withParams(await secondCallback(app), { state: randomState() })
    await expectAuthError(app.auth.handleRedirectCallback(callbackUrl), 'state_mismatch')
    expect(app.replaceUrl).not.toHaveBeenCalled()
  })
})

// @vitest-environment node
/**
 * A deploy while tabs of the previous release are still open: a tab of 0.1 keeps refreshing the
 * session and writing it in its own format, beside a tab of this release. Real provider, fake
 * clock, fake tabs.
 */
import * as oauth from 'oauth4webapi'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startTestProvider, type TestProvider } from './support/provider.js'
import { APP, createWorld, disposeOpenTabs, openTab, sessionKey, signIn, signedIn } from './support/world.js'

afterEach(disposeOpenTabs)

let strict: TestProvider

beforeAll(async () => {
  strict = await startTestProvider({ profile: 'strict', accessTokenTtlSeconds: 120, redirectUris: [`${APP}/callback`] })
})
afterAll(() => strict?.close())

/** The session record of the 0.1 format: `{ tokens, claims }`, no version, no generation. */
interface LegacyRecord {
  tokens: {
    accessToken: string
    tokenType: string
    refreshToken?: string | undefined
    idToken?: string
    issuedAt: number
    expiresAt: number
    scope?: string
  }
  claims: { sub: string; iss: string }
}

/** What a tab of 0.1 does at its refresh time: the grant with the stored refresh token, the answer written in its format. */
async function refreshAsTheOldRelease(record: LegacyRecord, now: number): Promise<LegacyRecord> {
  const insecure = { [oauth.allowInsecureRequests]: true } as const
  const issuer = new URL(strict.issuer)
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure))
  const client: oauth.Client = { client_id: strict.clientId }
  const response = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), record.tokens.refreshToken!, insecure),
  )
  return {
    tokens: {
      ...record.tokens,
      accessToken: response.access_token,
      refreshToken: response.refresh_token ?? record.tokens.refreshToken,
      issuedAt: now,
      expiresAt: now + response.expires_in! * 1000,
    },
    claims: record.claims,
  }
}

describe('a tab of the previous release writing the session in its own format', () => {
  it('leaves this release refreshing the session when its token is due, instead of adopting it forever', async () => {
    const world = createWorld()
    const { auth, network } = openTab(strict, world)
    await signIn(strict, auth)
    const stored = (await world.store.get<LegacyRecord>(sessionKey(strict)))!

    // The old tab refreshes first and writes the 0.1 format; then the tokens age past their due time.
    await world.clock.advance(60_000)
    const theirs = await refreshAsTheOldRelease(stored, world.clock.now())
    await world.store.set(sessionKey(strict), theirs)
    await world.clock.advance(theirs.tokens.expiresAt - world.clock.now() + 1_000)
    const token = await auth.getAccessToken()

    const grants = network.tokenRequests('refresh_token')
    expect(grants.map((grant) => [grant.refreshToken === theirs.tokens.refreshToken, grant.status]).at(-1)).toEqual([
      true,
      200,
    ])
    expect(token).toBe(grants.at(-1)?.issued?.accessToken)
    expect(signedIn(auth).expiresAt).toBeGreaterThan(world.clock.now())
    // Written back in this release's format, with one identity every tab of it shares.
    expect(await world.store.get(sessionKey(strict))).toMatchObject({ v: 1, tokens: { accessToken: token } })
  })
})

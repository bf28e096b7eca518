/// <reference path="./oidc-provider.d.ts" />
/**
 * A real OpenID Provider (oidc-provider 9) for tests and for the dev playground.
 *
 * - `startTestProvider()` starts a node:http server on 127.0.0.1 (random port) hosting the
 *   provider, records every request it receives and can walk an authorization request through
 *   an auto-approving login + consent interaction (`authorize()`).
 * - `createProviderMiddleware()` returns a connect-style middleware for Vite's dev server that
 *   serves the provider under `/oidc`.
 *
 * Profiles:
 * - 'strict': issuer at the server root, refresh tokens rotate (reusing a rotated refresh token
 *   answers invalid_grant and revokes the whole grant).
 * - 'authing-like': issuer `${origin}/oidc` (like Authing), refresh tokens do not rotate.
 *
 * Other shapes of provider through options: Pushed Authorization Requests (`par`), resource
 * indicators with JWT access tokens per API (`resourceServers`), a COOP-isolated sign-in page
 * (`coop`), a discovery document without `revocation_endpoint` (`revocationInDiscovery`) or with
 * other `scopes_supported` (`scopesSupported`), signed userinfo answers (`signedUserinfo`),
 * authentication context classes and step-up logins (`acrValues`).
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  errors,
  interactionPolicy,
  Provider,
  type Adapter,
  type AdapterPayload,
  type Configuration,
  type InteractionPolicy,
  type InteractionResults,
  type KoaContextWithOIDC,
  type ResourceIndicatorsFeature,
} from 'oidc-provider'

export type ProviderProfile = 'authing-like' | 'strict'
/** Who answers the provider's login and consent prompts; see {@link TestProviderOptions.interactions}. */
export type Interactions = 'auto' | 'dev' | 'sign-in-page'

export interface TestProviderOptions {
  /** Default 'strict'. */
  profile?: ProviderProfile
  /** Default 3600. */
  accessTokenTtlSeconds?: number
  /** Registered on the public client. Default ['http://127.0.0.1:5173/callback']. */
  redirectUris?: string[]
  /** Default: the origins of redirectUris + '/'. */
  postLogoutRedirectUris?: string[]
  /**
   * 'auto' (default): /interaction/:uid approves login (as `accountId`) and consent without any UI.
   * 'dev': oidc-provider's devInteractions login and consent forms (for a human).
   * 'sign-in-page': a sign-in form of our own for a person (any name signs in, consent is given at
   * once), quiet and offline: no notice on the console, nothing fetched from outside 127.0.0.1.
   */
  interactions?: Interactions
  /** Default 'spa-test'. */
  clientId?: string
  /** Default 'alice'. */
  accountId?: string
  /**
   * DPoP (RFC 9449): 'optional' (default) accepts proofs; 'required' binds every access token of
   * the client (`dpop_bound_access_tokens`) and demands server nonces on every proof; 'off'
   * disables the feature, so discovery advertises no `dpop_signing_alg_values_supported`.
   */
  dpop?: 'off' | 'optional' | 'required'
  /**
   * Endpoint paths in place of oidc-provider's defaults (`/auth`, `/token`, `/session/end`, …),
   * e.g. Auth0's fixed `{ authorization: '/authorize', token: '/oauth/token', end_session:
   * '/v2/logout' }` for a client that builds its URLs from a domain instead of discovery.
   */
  routes?: ProviderRoutes
  /**
   * Whether the issuer identifier ends with '/' (`http://127.0.0.1:PORT/`), the shape of an Auth0
   * tenant's issuer, for a client that expects `iss` to be `${domain}/`. Default false.
   */
  issuerTrailingSlash?: boolean
  /**
   * Pushed Authorization Requests (RFC 9126). 'off' (default): the feature is disabled, so
   * discovery has no `pushed_authorization_request_endpoint` (oidc-provider enables it unless told
   * otherwise, and a client that pushes whenever discovery offers it would never send a plain
   * authorization request). 'on': offered; 'required': discovery says
   * `require_pushed_authorization_requests: true` and plain authorization requests are refused.
   */
  par?: 'off' | 'on' | 'required'
  /**
   * Resource indicators (RFC 8707): the APIs a client may name in `resource`, each with the scope
   * it grants (default 'api:read'). An access token issued for one of them is a JWT (RS256) whose
   * `aud` is the indicator; a token request without `resource` still gets the opaque access token
   * the userinfo endpoint takes. Any other indicator is refused with invalid_target. Default: none,
   * and the feature is disabled.
   */
  resourceServers?: Record<string, { scope?: string }>
  /**
   * Every response carries `Cross-Origin-Opener-Policy: same-origin`, and the auto-approving
   * interaction answers with a small HTML page continuing by script instead of a redirect, so a
   * browser popup really commits a COOP document at the provider's origin (and loses its opener).
   * Default false.
   */
  coop?: boolean
  /**
   * false: discovery lists no `revocation_endpoint` (like django-oauth-toolkit's OIDC discovery),
   * while the endpoint keeps working at its usual path (`TestProvider.revocationEndpoint`).
   * Default true.
   */
  revocationInDiscovery?: boolean
  /**
   * What discovery publishes as `scopes_supported`, e.g. ['openid', 'profile'] without
   * 'offline_access'. Only the document changes: the provider accepts the scopes it always does.
   * Default: oidc-provider's own list.
   */
  scopesSupported?: string[]
  /**
   * The userinfo endpoint answers the client with a JWT signed RS256 (`application/jwt`, OIDC Core
   * §5.3.2): the client is registered with `userinfo_signed_response_alg: 'RS256'`. Default false.
   */
  signedUserinfo?: boolean
  /**
   * Authentication context classes the provider offers (`acr_values_supported`), weakest first. The
   * auto-approving login signs the user in with the first of a request's `acr_values` that is
   * offered, else with the first offered; a request whose offered `acr_values` the session's `acr`
   * does not satisfy asks for a new login, as a provider that steps up does. An `acr_values` the
   * provider does not offer is ignored (OIDC Core §3.1.2.1: it is a voluntary request). Default:
   * none, and ID tokens carry no `acr`.
   */
  acrValues?: string[]
}

/** Endpoint paths, relative to the issuer (see oidc-provider's `routes` configuration). */
export type ProviderRoutes = Partial<
  Record<'authorization' | 'token' | 'end_session' | 'revocation' | 'userinfo' | 'jwks', string>
>

/** One request received by the provider. `path` has no query and is relative to the server root. */
export interface ProviderRequest {
  method: string
  path: string
  grantType?: string
  /** The status the provider answered (not set for requests outside its routes). */
  status?: number
}

/** Which requests a hold applies to; an absent field matches every request. */
export interface HoldFilter {
  grantType?: string
  /** Relative to the server root, without the query. */
  path?: string
}

/** A response the provider has computed and keeps back until `release()`. */
export interface ProviderHold {
  /** Resolves once a matching request was processed and its answer waits. */
  reached: Promise<void>
  /** Sends the held answer (also before `reached`: the hold then lets its request through). */
  release(): void
}

export interface TestProvider {
  /** e.g. http://127.0.0.1:PORT/oidc (authing-like) or http://127.0.0.1:PORT (strict) */
  issuer: string
  clientId: string
  /** Every request the provider received, in order (token requests carry grant_type). */
  requests: ProviderRequest[]
  countRequests(filter?: { path?: string; grantType?: string }): number
  resetRequests(): void
  /**
   * Follows an authorize URL through the auto-approve interaction with a fresh cookie jar (Node
   * fetch, redirect: 'manual'), returning the final redirect Location: the client's redirect URI
   * with code/state/iss, or with error/state/iss when the provider answers the client with an
   * error (`prompt=none` without a session: login_required). A PAR URL (`client_id` +
   * `request_uri`) works like any other; so do the `coop` continuation pages.
   */
  authorize(authorizeUrl: string): Promise<string>
  /**
   * A browser's view of the provider: the `authorize()` calls of one session share a cookie jar,
   * so after a first sign-in an authorization request with `prompt=none` comes back with a code
   * without any interaction.
   */
  createBrowserSession(): BrowserSession
  /** The revocation endpoint, also when discovery does not list it (`revocationInDiscovery: false`). */
  revocationEndpoint: string
  /** The `aud` of a JWT access token (one issued for a resource server); `undefined` for an opaque token. */
  accessTokenAudience(accessToken: string): string | string[] | undefined
  /**
   * Holds the answer to the next request matching `filter`: the provider processes it completely
   * (a refresh grant has rotated the refresh token) and the response waits until `release()`.
   * Each call holds one request; later ones are answered at once.
   */
  holdNext(filter?: HoldFilter): ProviderHold
  /** The DPoP key thumbprint (`cnf.jkt`) an issued access token is bound to, `null` when unbound, `undefined` when unknown. */
  accessTokenBinding(accessToken: string): Promise<string | null | undefined>
  /**
   * Makes the provider forget one access token before it expires (its grant and refresh token stay),
   * as a provider that lost or revoked it does: userinfo then answers it `401` with
   * `WWW-Authenticate: Bearer error="invalid_token"` (`DPoP` for a DPoP-bound token).
   */
  forgetAccessToken(accessToken: string): Promise<void>
  close(): Promise<void>
}

/** Authorization requests made by one browser: every call keeps the cookies of the previous ones. */
export interface BrowserSession {
  /** As `TestProvider.authorize()`, with this session's cookie jar. */
  authorize(authorizeUrl: string): Promise<string>
}

const DEFAULT_REDIRECT_URI = 'http://127.0.0.1:5173/callback'
const MOUNT_PATH = '/oidc'
/** oidc-provider's default route of the revocation endpoint, relative to the issuer. */
const DEFAULT_REVOCATION_PATH = '/token/revocation'
const DAY = 24 * 60 * 60

interface Jwks {
  keys: Array<Record<string, unknown>>
}

let cachedJwks: Jwks | undefined
function loadJwks(): Jwks {
  // A path, not `new URL('./…', import.meta.url)`: in a DOM test environment Vite rewrites that
  // pattern into a web asset URL.
  cachedJwks ??= JSON.parse(
    readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'provider-keys.json'), 'utf8'),
  ) as Jwks
  // oidc-provider keeps a reference to what it is given: hand each instance its own copy.
  return structuredClone(cachedJwks)
}

interface ResolvedOptions {
  profile: ProviderProfile
  accessTokenTtlSeconds: number
  redirectUris: string[]
  postLogoutRedirectUris: string[]
  interactions: Interactions
  clientId: string
  accountId: string
  dpop: 'off' | 'optional' | 'required'
  routes: ProviderRoutes | undefined
  issuerTrailingSlash: boolean
  par: 'off' | 'on' | 'required'
  resourceServers: Record<string, { scope?: string }> | undefined
  coop: boolean
  revocationInDiscovery: boolean
  scopesSupported: string[] | undefined
  signedUserinfo: boolean
  acrValues: string[] | undefined
}

function resolveOptions(options: TestProviderOptions, defaultRedirectUri: string): ResolvedOptions {
  const redirectUris = options.redirectUris ?? [defaultRedirectUri]
  const postLogoutRedirectUris = options.postLogoutRedirectUris ?? [
    ...new Set(redirectUris.map((uri) => `${new URL(uri).origin}/`)),
  ]
  return {
    profile: options.profile ?? 'strict',
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3600,
    redirectUris,
    postLogoutRedirectUris,
    interactions: options.interactions ?? 'auto',
    clientId: options.clientId ?? 'spa-test',
    accountId: options.accountId ?? 'alice',
    dpop: options.dpop ?? 'optional',
    routes: options.routes,
    issuerTrailingSlash: options.issuerTrailingSlash ?? false,
    par: options.par ?? 'off',
    resourceServers: options.resourceServers,
    coop: options.coop ?? false,
    revocationInDiscovery: options.revocationInDiscovery ?? true,
    scopesSupported: options.scopesSupported,
    signedUserinfo: options.signedUserinfo ?? false,
    acrValues: options.acrValues,
  }
}

// ---------------------------------------------------------------------------------------------
// Storage: a small in-memory adapter, one store per provider instance (oidc-provider's own
// memory adapter prints a warning per instance).
// ---------------------------------------------------------------------------------------------

const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
])

interface StoredEntry {
  payload: AdapterPayload
  expiresAt: number
}

function createMemoryAdapter(): new (name: string) => Adapter {
  const entries = new Map<string, StoredEntry>()
  const grants = new Map<string, Set<string>>()
  const sessionUids = new Map<string, string>()
  const userCodes = new Map<string, string>()

  const read = (key: string): AdapterPayload | undefined => {
    const entry = entries.get(key)
    if (!entry) return undefined
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key)
      return undefined
    }
    return entry.payload
  }

  return class MemoryAdapter implements Adapter {
    readonly #model: string

    constructor(model: string) {
      this.#model = model
    }

    #key(id: string): string {
      return `${this.#model}:${id}`
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void> {
      const key = this.#key(id)
      const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity
      entries.set(key, { payload: { ...payload }, expiresAt })
      if (this.#model === 'Session' && typeof payload.uid === 'string') sessionUids.set(payload.uid, id)
      if (typeof payload.userCode === 'string') userCodes.set(payload.userCode, id)
      if (GRANTABLE.has(this.#model) && typeof payload.grantId === 'string') {
        let members = grants.get(payload.grantId)
        if (!members) grants.set(payload.grantId, (members = new Set()))
        members.add(key)
      }
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      return read(this.#key(id))
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = sessionUids.get(uid)
      return id === undefined ? undefined : this.find(id)
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const id = userCodes.get(userCode)
      return id === undefined ? undefined : this.find(id)
    }

    async consume(id: string): Promise<void> {
      const payload = read(this.#key(id))
      if (payload) payload.consumed = Math.floor(Date.now() / 1000)
    }

    async destroy(id: string): Promise<void> {
      entries.delete(this.#key(id))
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      for (const key of grants.get(grantId) ?? []) entries.delete(key)
      grants.delete(grantId)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Provider configuration
// ---------------------------------------------------------------------------------------------

const escapeHtml = (value: unknown): string => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function page(title: string, body: string): string {
  // An icon of its own: no request for /favicon.ico, which the dev server does not have.
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${escapeHtml(title)}</title></head><body>${body}</body></html>`
}

/** Scope granted for a resource server listed without one. */
const DEFAULT_RESOURCE_SCOPE = 'api:read'

/**
 * RFC 8707 for `options.resourceServers`, disabled without them (oidc-provider enables the feature
 * by default with a getResourceServerInfo that refuses every indicator).
 */
function resourceIndicators(options: ResolvedOptions): ResourceIndicatorsFeature {
  const servers = options.resourceServers
  if (!servers) return { enabled: false }
  return {
    enabled: true,
    // No resource unless the request names one: a code exchange without `resource` yields the
    // opaque access token for userinfo, even when the grant holds several APIs. (oidc-provider's
    // default would return the single granted one and refuse several.)
    defaultResource: () => undefined,
    // A refresh grant without `resource` does not inherit the grant's indicators either; with
    // `resource`, the parameter wins over this anyway (it must be one the grant holds).
    useGrantedResource: () => false,
    getResourceServerInfo(_ctx, indicator) {
      const server = Object.hasOwn(servers, indicator) ? servers[indicator] : undefined
      if (!server) throw new errors.InvalidTarget(`unknown resource indicator: ${indicator}`)
      return {
        scope: server.scope ?? DEFAULT_RESOURCE_SCOPE,
        audience: indicator,
        accessTokenTTL: options.accessTokenTtlSeconds,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }
    },
  }
}

function buildConfiguration(options: ResolvedOptions, mountPath: string): Configuration {
  const configuration: Configuration = {
    adapter: createMemoryAdapter(),
    jwks: loadJwks(),
    clients: [
      {
        client_id: options.clientId,
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: options.redirectUris,
        post_logout_redirect_uris: options.postLogoutRedirectUris,
        ...(options.dpop === 'required' ? { dpop_bound_access_tokens: true } : {}),
        ...(options.signedUserinfo ? { userinfo_signed_response_alg: 'RS256' } : {}),
      },
    ],
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    // Like Authing, put the profile claims in the ID token too, so the signed-in snapshot has a name.
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      profile: ['name'],
      email: ['email', 'email_verified'],
    },
    findAccount(_ctx, sub) {
      return {
        accountId: sub,
        claims() {
          // Anyone a person signs in as on the sign-in page gets a name of their own.
          const name = sub === 'alice' ? 'Alice Example' : sub
          return { sub, name, email: `${sub}@example.com`, email_verified: true }
        },
      }
    },
    features: {
      devInteractions: { enabled: options.interactions === 'dev' },
      revocation: {
        enabled: true,
        // Same policy as the default: a public client may only revoke its own tokens.
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx, form) {
          ctx.type = 'html'
          ctx.body = page(
            'Sign out',
            `<h1>Sign out from ${escapeHtml(ctx.host)}?</h1>${form}` +
              '<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>' +
              '<button type="submit" form="op.logoutForm">No, stay signed in</button>',
          )
        },
        postLogoutSuccessSource(ctx) {
          ctx.type = 'html'
          ctx.body = page('Signed out', '<h1>Signed out</h1>')
        },
      },
      userinfo: { enabled: true },
      jwtUserinfo: { enabled: options.signedUserinfo },
      dPoP:
        options.dpop === 'required'
          ? { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true }
          : { enabled: options.dpop === 'optional' },
      pushedAuthorizationRequests: {
        enabled: options.par !== 'off',
        requirePushedAuthorizationRequests: options.par === 'required',
      },
      resourceIndicators: resourceIndicators(options),
    },
    // Refresh tokens only when the grant holds offline_access (which oidc-provider, like
    // Authing, only keeps when the authorization request had prompt=consent).
    issueRefreshToken: (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: options.profile === 'strict',
    // The default policy, spelled out: token/revocation/userinfo answer browser requests from
    // the origins of the client's redirect URIs. Discovery and JWKS are open CORS regardless.
    clientBasedCORS(_ctx, origin, client) {
      if (origin === 'null') return false
      return client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin)
    },
    renderError(ctx, out) {
      ctx.type = 'html'
      const lines = Object.entries(out).map(([key, value]) => `${escapeHtml(key)}: ${escapeHtml(value)}`)
      ctx.body = page('Error', `<pre>${lines.join('\n')}</pre>`)
    },
    ttl: {
      AccessToken: options.accessTokenTtlSeconds,
      AuthorizationCode: 60,
      IdToken: 3600,
      // A rotated refresh token keeps the remaining lifetime of the one it replaces.
      RefreshToken: (ctx: KoaContextWithOIDC) => ctx.oidc.entities.RotatedRefreshToken?.remainingTTL ?? 14 * DAY,
      Interaction: 3600,
      Session: 14 * DAY,
      Grant: 14 * DAY,
    },
  }
  if (options.interactions !== 'dev') {
    configuration.interactions = { url: (_ctx, interaction) => `${mountPath}/interaction/${interaction.uid}` }
  }
  if (options.acrValues) {
    configuration.acrValues = options.acrValues
    configuration.interactions = { ...configuration.interactions, policy: stepUpPolicy(options.acrValues) }
  }
  if (options.routes) configuration.routes = options.routes
  return configuration
}

/**
 * oidc-provider's prompts, with one more reason to log in: the request asks for `acr_values` the
 * provider offers and the session's `acr` is none of them (oidc-provider alone only steps up for an
 * essential `acr` of the claims parameter).
 */
function stepUpPolicy(offered: string[]): InteractionPolicy {
  const policy = interactionPolicy.base()
  const check = new interactionPolicy.Check('acr_values', 'the requested acr_values are not satisfied', (ctx) => {
    const asked = offeredAcrValues(ctx.oidc.params?.['acr_values'], offered)
    const satisfied = asked.length === 0 || asked.includes(ctx.oidc.acr ?? '') || ctx.oidc.result?.login !== undefined
    return satisfied ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT
  })
  policy.get('login')!.checks.add(check)
  return policy
}

/** The values of a request's `acr_values` parameter that the provider offers, in the request's order. */
function offeredAcrValues(acrValues: unknown, offered: string[]): string[] {
  return typeof acrValues === 'string' ? acrValues.split(' ').filter((value) => offered.includes(value)) : []
}

// ---------------------------------------------------------------------------------------------
// Request handling shared by the standalone server and the Vite middleware
// ---------------------------------------------------------------------------------------------

type MountableRequest = IncomingMessage & { originalUrl?: string }

interface ProviderHost {
  provider: Provider
  mountPath: string
  requests: ProviderRequest[]
  holdNext(filter: HoldFilter): ProviderHold
  /** Releases every hold, reached or not. */
  releaseHolds(): void
  /** Handles the request if it is under the mount path; returns false (untouched) otherwise. */
  handle(req: MountableRequest, res: ServerResponse): boolean
}

function createProviderHost(issuer: string, options: ResolvedOptions): ProviderHost {
  const issuerPath = new URL(issuer).pathname
  const mountPath = issuerPath.endsWith('/') ? issuerPath.slice(0, -1) : issuerPath
  const provider = new Provider(issuer, buildConfiguration(options, mountPath))
  const requests: ProviderRequest[] = []
  const entryByRequest = new WeakMap<IncomingMessage, ProviderRequest>()
  const interactionPath = new RegExp(`^${escapeRegExp(mountPath)}/interaction/([^/]+)$`)
  /** Armed and taken holds, until released; a taken hold holds one response. */
  const holds: Array<{
    filter: HoldFilter
    taken: boolean
    reach(): void
    released: Promise<void>
    release(): void
  }> = []

  function holdNext(filter: HoldFilter): ProviderHold {
    let reach!: () => void
    let release!: () => void
    const reached = new Promise<void>((resolve) => (reach = resolve))
    const released = new Promise<void>((resolve) => (release = resolve))
    const hold = {
      filter,
      taken: false,
      reach,
      released,
      release() {
        const index = holds.indexOf(hold)
        if (index !== -1) holds.splice(index, 1)
        release()
      },
    }
    holds.push(hold)
    return { reached, release: hold.release }
  }

  /** Takes the first hold that matches `request`: each one holds a single response. */
  function takeHold(request: ProviderRequest) {
    const hold = holds.find(
      ({ filter, taken }) =>
        !taken &&
        (filter.grantType === undefined || filter.grantType === request.grantType) &&
        (filter.path === undefined || filter.path === request.path),
    )
    if (hold) hold.taken = true
    return hold
  }

  // Runs in front of oidc-provider's own stack. Once the stack has run, the provider has parsed
  // the token request body itself (ctx.oidc.body): read grant_type from there instead of
  // touching the request stream. Koa only writes the response after this resolves, which is
  // also what lets a hold keep a computed answer back.
  provider.use(async (ctx, next) => {
    await next()
    if (ctx.oidc?.route === 'discovery') editDiscovery(ctx.body, options)
    const entry = entryByRequest.get(ctx.req)
    if (entry) entry.status = ctx.status
    const grantType = ctx.oidc?.route === 'token' ? ctx.oidc.body?.grant_type : undefined
    if (entry && typeof grantType === 'string') entry.grantType = grantType
    const hold = entry && takeHold(entry)
    if (hold) {
      hold.reach()
      await hold.released
    }
  })

  const callback = provider.callback()

  const handle = (req: MountableRequest, res: ServerResponse): boolean => {
    // Behind connect, req.url may already be relative to where the middleware was mounted.
    const fullUrl = req.originalUrl ?? req.url ?? '/'
    const queryStart = fullUrl.indexOf('?')
    const path = queryStart === -1 ? fullUrl : fullUrl.slice(0, queryStart)
    if (mountPath && path !== mountPath && !path.startsWith(`${mountPath}/`)) return false

    const entry: ProviderRequest = { method: req.method ?? 'GET', path }
    requests.push(entry)
    entryByRequest.set(req, entry)
    // Set on the bare response, so that the provider's answers, its error pages and the
    // interaction pages all carry it.
    if (options.coop) res.setHeader('Cross-Origin-Opener-Policy', 'same-origin')

    if (options.interactions !== 'dev' && interactionPath.test(path)) {
      void interaction(provider, options, req, res)
      return true
    }

    if (mountPath) {
      // The mounting contract oidc-provider expects (same as connect/express `app.use(prefix)`):
      // req.url relative to the mount point, req.originalUrl the full URL. The provider derives
      // the mount path of the URLs it generates from the difference of the two.
      req.originalUrl = fullUrl
      const rest = fullUrl.slice(mountPath.length)
      req.url = rest.startsWith('/') ? rest : `/${rest}`
    }
    void callback(req, res)
    return true
  }

  return {
    provider,
    mountPath,
    requests,
    holdNext,
    releaseHolds() {
      for (const hold of [...holds]) hold.release()
    },
    handle,
  }
}

/** The discovery document as the options shape it; oidc-provider itself serves the same endpoints. */
function editDiscovery(body: unknown, options: ResolvedOptions): void {
  if (typeof body !== 'object' || body === null) return
  const metadata = body as Record<string, unknown>
  if (!options.revocationInDiscovery) {
    // The endpoint and what describes it (revocation_endpoint_auth_methods_supported, …).
    for (const key of Object.keys(metadata)) {
      if (key.startsWith('revocation_endpoint')) delete metadata[key]
    }
  }
  if (options.scopesSupported) metadata['scopes_supported'] = [...options.scopesSupported]
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * Answers the login and consent prompts: login as `options.accountId` ('auto') or as whoever the
 * person names on the sign-in page ('sign-in-page'); consent to what the client asked, at once.
 */
async function interaction(
  provider: Provider,
  options: ResolvedOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    const details = await provider.interactionDetails(req, res)
    const { prompt, params } = details
    const finish = async (result: InteractionResults, mergeWithLastSubmission: boolean): Promise<void> => {
      if (!options.coop) {
        await provider.interactionFinished(req, res, result, { mergeWithLastSubmission })
        return
      }
      // A document, not a redirect: a redirect commits nothing, so the popup would never have
      // been at the provider's origin under its COOP.
      sendContinuationPage(res, await provider.interactionResult(req, res, result, { mergeWithLastSubmission }))
    }
    if (prompt.name === 'login') {
      const accountId = options.interactions === 'auto' ? options.accountId : await signInPageLogin(req, res)
      const acr = offeredAcrValues(params['acr_values'], options.acrValues ?? [])[0] ?? options.acrValues?.[0]
      if (accountId !== undefined) {
        await finish({ login: { accountId, ...(acr === undefined ? {} : { acr }) } }, false)
      }
      return
    }
    if (prompt.name === 'consent') {
      const accountId = details.session?.accountId ?? options.accountId
      const clientId = typeof params.client_id === 'string' ? params.client_id : options.clientId
      const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined
      const grant = existing ?? new provider.Grant({ accountId, clientId })
      const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details
      if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '))
      if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims)
      if (missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(missingResourceScopes)) {
          grant.addResourceScope(indicator, scopes.join(' '))
        }
      }
      const grantId = await grant.save()
      await finish({ consent: { grantId } }, true)
      return
    }
    sendText(res, 501, `interaction prompt not supported by the test provider: ${prompt.name}`)
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    sendText(res, 400, `interaction failed: ${message}`)
  }
}

/**
 * The name a person submitted on the sign-in page, or `undefined` after sending them the page. It
 * links to nothing outside the provider (no web font, no script), so it renders offline.
 */
async function signInPageLogin(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
  if (req.method === 'POST') {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const login = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('login')?.trim()
    if (login) return login
  }
  res.statusCode = 200
  res.setHeader('Content-Type', 'text/html; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  res.end(
    page(
      'Sign in',
      '<style>body{font:16px system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}' +
        'input,button{font:inherit;padding:.4rem .6rem;margin:.4rem 0;width:100%;box-sizing:border-box}</style>' +
        '<h1>Sign in</h1><p>The development provider of this app: any name signs in.</p>' +
        '<form method="post"><label>Name <input name="login" value="alice" required autofocus></label>' +
        '<button type="submit">Sign in</button></form>',
    ),
  )
  return undefined
}

/** Continues the flow at `url` by script: `location.replace()`, so the page leaves no history entry. */
function sendContinuationPage(res: ServerResponse, url: string): void {
  // JSON in a script element: escape '<' so that no '</script>' can close it early.
  const literal = JSON.stringify(url).replace(/</g, '\\u003c')
  res.statusCode = 200
  res.setHeader('Content-Type', 'text/html; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  res.end(
    page('Signing in', `<p><a href="${escapeHtml(url)}">Continue</a></p><script>location.replace(${literal})</script>`),
  )
}

/** The URL a continuation page goes on to, or undefined when `html` is not one. */
function continuationUrl(html: string): string | undefined {
  const match = /<script>location\.replace\(("(?:[^"\\]|\\.)*")\)<\/script>/.exec(html)
  return match?.[1] === undefined ? undefined : (JSON.parse(match[1]) as string)
}

function sendText(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.end()
    return
  }
  res.statusCode = status
  res.setHeader('Content-Type', 'text/plain; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  res.end(text)
}

// ---------------------------------------------------------------------------------------------
// authorize(): follow the redirects of an authorization request with a cookie jar
// ---------------------------------------------------------------------------------------------

const MAX_REDIRECTS = 20

type CookieJar = Map<string, Map<string, string>> // host -> cookie name -> value

/**
 * Follows `authorizeUrl` until it reaches one of `redirectUris` (success or error, e.g.
 * `error=login_required` for `prompt=none` without a session) and returns that URL. Cookies go
 * to and come from `jar`. Continuation pages (the `coop` interaction) count as redirects.
 */
async function followAuthorization(authorizeUrl: string, redirectUris: string[], jar: CookieJar): Promise<string> {
  let url = new URL(authorizeUrl)
  for (let hop = 0; hop < MAX_REDIRECTS; hop++) {
    const cookies = jar.get(url.host)
    const headers: Record<string, string> = {}
    if (cookies?.size) {
      headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ')
    }
    const response = await fetch(url, { redirect: 'manual', headers })
    storeCookies(jar, url.host, response.headers.getSetCookie())
    const location = response.headers.get('location')
    let next: URL | undefined
    let body = ''
    if ((response.status === 302 || response.status === 303) && location) {
      await response.body?.cancel()
      next = new URL(location, url)
    } else {
      body = await response.text()
      const continuation = response.status === 200 ? continuationUrl(body) : undefined
      if (continuation !== undefined) next = new URL(continuation, url)
    }
    if (!next) {
      throw new Error(
        `authorize(): the authorization request ended on ${response.status} at ${url.href} ` +
          `instead of redirecting to the client: ${body.slice(0, 200)}`,
      )
    }
    if (isRedirectUri(next, redirectUris)) return next.href
    url = next
  }
  throw new Error(`authorize(): more than ${MAX_REDIRECTS} redirects starting at ${authorizeUrl}`)
}

/**
 * Whether `url` is one of the client's redirect URIs plus response parameters. Whole origin and
 * path, not a prefix: a redirect URI at the provider's origin (the Vite playground's
 * `${origin}/`) would otherwise match every provider URL.
 */
function isRedirectUri(url: URL, redirectUris: string[]): boolean {
  return redirectUris.some((uri) => {
    const registered = new URL(uri)
    return registered.origin === url.origin && registered.pathname === url.pathname
  })
}

function storeCookies(jar: CookieJar, host: string, setCookies: string[]): void {
  if (setCookies.length === 0) return
  let cookies = jar.get(host)
  if (!cookies) jar.set(host, (cookies = new Map()))
  for (const setCookie of setCookies) {
    const [pair = '', ...attributes] = setCookie.split(';')
    const eq = pair.indexOf('=')
    if (eq <= 0) continue
    const name = pair.slice(0, eq).trim()
    const value = pair.slice(eq + 1).trim()
    const expired = attributes.some((attribute) => {
      const [key = '', attributeValue = ''] = attribute.split('=').map((part) => part.trim())
      if (key.toLowerCase() === 'max-age') return Number(attributeValue) <= 0
      if (key.toLowerCase() === 'expires') return Date.parse(attributeValue) <= Date.now()
      return false
    })
    if (expired || value === '') cookies.delete(name)
    else cookies.set(name, value)
  }
}

/** The `aud` claim of a JWT, or undefined for anything else (an opaque token). */
function jwtAudience(token: string): string | string[] | undefined {
  const [, payload, signature, ...rest] = token.split('.')
  if (payload === undefined || signature === undefined || rest.length > 0) return undefined
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    if (typeof claims !== 'object' || claims === null) return undefined
    const { aud } = claims as { aud?: unknown }
    if (typeof aud === 'string') return aud
    if (Array.isArray(aud) && aud.every((value) => typeof value === 'string')) return aud as string[]
    return undefined
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

export async function startTestProvider(options: TestProviderOptions = {}): Promise<TestProvider> {
  const resolved = resolveOptions(options, DEFAULT_REDIRECT_URI)
  let host: ProviderHost | undefined

  const server = createServer((req, res) => {
    if (host?.handle(req, res)) return
    // Outside the mount path (authing-like): still logged, so a client calling the wrong path shows.
    host?.requests.push({ method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0] ?? '/' })
    sendText(res, 404, 'not found')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  // Never keep the process alive because of a fixture someone forgot to close.
  server.unref()

  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`
  const issuer = `${resolved.profile === 'authing-like' ? `${origin}${MOUNT_PATH}` : origin}${resolved.issuerTrailingSlash ? '/' : ''}`
  host = createProviderHost(issuer, resolved)
  const { requests } = host
  const authorize = (authorizeUrl: string, jar: CookieJar): Promise<string> =>
    resolved.interactions === 'auto'
      ? followAuthorization(authorizeUrl, resolved.redirectUris, jar)
      : Promise.reject(new Error("authorize() needs interactions: 'auto'"))

  let closed: Promise<void> | undefined
  return {
    issuer,
    clientId: resolved.clientId,
    requests,
    countRequests(filter = {}) {
      return requests.filter(
        (request) =>
          (filter.path === undefined || request.path === filter.path) &&
          (filter.grantType === undefined || request.grantType === filter.grantType),
      ).length
    },
    resetRequests() {
      requests.length = 0
    },
    authorize: (authorizeUrl) => authorize(authorizeUrl, new Map()),
    createBrowserSession() {
      const jar: CookieJar = new Map()
      return { authorize: (authorizeUrl) => authorize(authorizeUrl, jar) }
    },
    revocationEndpoint: `${origin}${host.mountPath}${resolved.routes?.revocation ?? DEFAULT_REVOCATION_PATH}`,
    accessTokenAudience: jwtAudience,
    holdNext: (filter = {}) => host!.holdNext(filter),
    async accessTokenBinding(accessToken) {
      const token = await host!.provider.AccessToken.find(accessToken)
      return token === undefined ? undefined : (token.jkt ?? null)
    },
    async forgetAccessToken(accessToken) {
      await (await host!.provider.AccessToken.find(accessToken))?.destroy()
    },
    close() {
      host!.releaseHolds()
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      })
      return closed
    },
  }
}

/**
 * For Vite's dev server: returns a connect-style middleware `(req, res, next)` serving the
 * provider mounted under `/oidc`, with issuer `${origin}/oidc`. Works whether it is registered at
 * the root (`server.middlewares.use(mw)`) or at `/oidc`; other paths go to `next()`.
 * `redirectUris` defaults to [`${origin}/callback`].
 */
export function createProviderMiddleware(
  origin: string,
  options: TestProviderOptions = {},
): (req: any, res: any, next: () => void) => void {
  const base = new URL(origin).origin
  const resolved = resolveOptions(options, `${base}/callback`)
  const host = createProviderHost(`${base}${MOUNT_PATH}`, resolved)
  return (req: any, res: any, next: () => void): void => {
    if (!host.handle(req as MountableRequest, res as ServerResponse)) next()
  }
}

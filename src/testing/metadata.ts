/**
 * What the test provider is (its settings and endpoint URLs) and what it says about itself: the
 * OpenID Connect discovery document (OIDC Discovery §3), and which endpoint a URL names.
 */
import type { SigningAlgorithm } from './jws.js'
import type { AccessTokenInfo } from './grants.js'

/** The endpoints of the test provider, as named in `provider.requests`. */
export type ProviderEndpoint =
  'discovery' | 'jwks' | 'authorize' | 'token' | 'userinfo' | 'revocation' | 'end-session' | 'api' | 'unknown'

/** Answers the app's own API (any origin but the issuer's); `access` is the checked access token, or `null`. */
export type ApiHandler = (request: Request, access: AccessTokenInfo | null) => Response | Promise<Response>

/** Everything the endpoints are configured with. */
export interface ProviderSettings {
  issuer: string
  clientId: string
  redirectUris: readonly string[]
  postLogoutRedirectUris: readonly string[]
  accessTokenTtlMs: number
  idTokenTtlMs: number
  refreshTokenTtlMs: number
  rotateRefreshTokens: boolean
  /** Refuse token requests without a DPoP proof (the client is registered with DPoP-bound tokens). */
  requireDpop: boolean
  signingAlg: SigningAlgorithm
  api: ApiHandler | undefined
}

/** The endpoint URLs, as discovery advertises them. */
export interface ProviderEndpoints {
  discovery: string
  authorization: string
  token: string
  userinfo: string
  revocation: string
  endSession: string
  jwks: string
}

/** The endpoint URLs under `issuer` (the paths Authing and oidc-provider use). */
export function providerEndpoints(issuer: string): ProviderEndpoints {
  const base = issuer.replace(/\/+$/, '')
  return {
    discovery: `${base}/.well-known/openid-configuration`,
    authorization: `${base}/authorize`,
    token: `${base}/token`,
    userinfo: `${base}/userinfo`,
    revocation: `${base}/token/revocation`,
    endSession: `${base}/session/end`,
    jwks: `${base}/jwks`,
  }
}

/** Which endpoint `url` names: another origin is the app's API (when there is a handler) or unknown. */
export function endpointOf(url: URL, settings: ProviderSettings, endpoints: ProviderEndpoints): ProviderEndpoint {
  if (url.origin !== new URL(settings.issuer).origin) return settings.api ? 'api' : 'unknown'
  const byUrl: Record<string, ProviderEndpoint> = {
    [endpoints.discovery]: 'discovery',
    [endpoints.jwks]: 'jwks',
    [endpoints.authorization]: 'authorize',
    [endpoints.token]: 'token',
    [endpoints.userinfo]: 'userinfo',
    [endpoints.revocation]: 'revocation',
    [endpoints.endSession]: 'end-session',
  }
  return byUrl[`${url.origin}${url.pathname}`] ?? 'unknown'
}

/**
 * OIDC Discovery §3 metadata: what oauth4webapi and spa-auth read — public client, PKCE S256,
 * RFC 9207 `iss` on the authorization response, DPoP with ES256.
 */
export function discoveryDocument(settings: ProviderSettings, endpoints: ProviderEndpoints): Record<string, unknown> {
  return {
    issuer: settings.issuer,
    authorization_endpoint: endpoints.authorization,
    token_endpoint: endpoints.token,
    jwks_uri: endpoints.jwks,
    userinfo_endpoint: endpoints.userinfo,
    revocation_endpoint: endpoints.revocation,
    end_session_endpoint: endpoints.endSession,
    scopes_supported: ['openid', 'offline_access', 'profile', 'email'],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [settings.signingAlg],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none'],
    authorization_response_iss_parameter_supported: true,
    dpop_signing_alg_values_supported: ['ES256'],
  }
}

// Minimal typings for the parts of oidc-provider 9 used by the test provider fixture.
// oidc-provider ships no type declarations of its own. This file is a script (no top-level
// import/export) so that `declare module` is an ambient module declaration.

declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  export type UnknownObject = Record<string, unknown>

  export interface Client {
    readonly clientId: string
    readonly clientAuthMethod: string
    readonly applicationType: string
    readonly redirectUris: string[]
    grantTypeAllowed(type: string): boolean
  }

  /** Any token-like model handed to configuration callbacks (AuthorizationCode, RefreshToken, ...). */
  export interface BaseToken {
    readonly jti: string
    readonly clientId?: string
    readonly grantId?: string
    readonly scopes: Set<string>
    readonly remainingTTL: number
    isSenderConstrained(): boolean
  }

  export interface OIDCContext {
    readonly route?: string
    readonly issuer: string
    readonly body?: Record<string, string | string[] | undefined>
    readonly params?: Record<string, unknown>
    readonly client?: Client
    /** The authentication context class of the session's sign-in. */
    readonly acr?: string
    /** What the interaction finished with, in the request that resumes after it. */
    readonly result?: InteractionResults
    readonly entities: {
      readonly RotatedRefreshToken?: BaseToken
      readonly [name: string]: unknown
    }
  }

  /** The Koa context, as far as the fixture uses it. `oidc` only exists on provider routes. */
  export interface Context {
    readonly req: IncomingMessage
    readonly res: ServerResponse
    readonly method: string
    readonly path: string
    readonly host: string
    readonly oidc?: OIDCContext
    status: number
    type: string
    body: unknown
  }

  export interface KoaContextWithOIDC extends Context {
    readonly oidc: OIDCContext
  }

  export type Middleware = (ctx: Context, next: () => Promise<unknown>) => Promise<unknown>

  export interface AccountClaims {
    sub: string
    [claim: string]: unknown
  }

  export interface Account {
    accountId: string
    claims(
      use: string,
      scope: string,
      claims: Record<string, unknown>,
      rejected: string[],
    ): AccountClaims | Promise<AccountClaims>
  }

  export interface AdapterPayload {
    [key: string]: unknown
    jti?: string
    grantId?: string
    uid?: string
    userCode?: string
    consumed?: unknown
  }

  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void>
    find(id: string): Promise<AdapterPayload | undefined>
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>
    findByUid(uid: string): Promise<AdapterPayload | undefined>
    consume(id: string): Promise<void>
    destroy(id: string): Promise<void>
    revokeByGrantId(grantId: string): Promise<void>
  }

  export type AdapterConstructor = new (name: string) => Adapter

  export interface ClientMetadata {
    client_id: string
    client_secret?: string
    token_endpoint_auth_method?: string
    application_type?: 'web' | 'native'
    grant_types?: string[]
    response_types?: string[]
    redirect_uris?: string[]
    post_logout_redirect_uris?: string[]
    [key: string]: unknown
  }

  export interface Interaction {
    readonly uid: string
    readonly returnTo: string
    readonly grantId?: string
    readonly prompt: {
      readonly name: string
      readonly reasons: string[]
      readonly details: {
        readonly missingOIDCScope?: string[]
        readonly missingOIDCClaims?: string[]
        readonly missingResourceScopes?: Record<string, string[]>
        readonly [key: string]: unknown
      }
    }
    readonly params: Record<string, unknown> & { readonly client_id?: string }
    readonly session?: {
      readonly accountId: string
      readonly uid: string
      readonly cookie: string
    }
  }

  export interface InteractionResults {
    login?: { accountId: string; acr?: string; amr?: string[]; remember?: boolean; ts?: number }
    consent?: { grantId?: string }
    error?: string
    error_description?: string
    [key: string]: unknown
  }

  export interface Grant {
    readonly jti: string
    accountId?: string
    clientId?: string
    addOIDCScope(scope: string): void
    addOIDCClaims(claims: string[]): void
    addResourceScope(resource: string, scope: string): void
    save(ttl?: number): Promise<string>
  }

  export interface GrantConstructor {
    new (properties: { accountId: string; clientId: string }): Grant
    find(id: string): Promise<Grant | undefined>
  }

  /** Details of the resource server a resource indicator names (RFC 8707). */
  export interface ResourceServerInfo {
    scope: string
    audience?: string
    accessTokenTTL?: number
    accessTokenFormat?: 'opaque' | 'jwt'
    jwt?: { sign?: { alg: string; kid?: string } }
  }

  // A type alias, not an interface: it must fit the `features` index signature.
  export type ResourceIndicatorsFeature = {
    enabled: boolean
    /** `oneOf`: the indicators of the grant when a token request names none (see useGrantedResource). */
    defaultResource?: (
      ctx: KoaContextWithOIDC,
      client: Client,
      oneOf?: string | string[],
    ) => string | string[] | undefined | Promise<string | string[] | undefined>
    useGrantedResource?: (ctx: KoaContextWithOIDC, model: BaseToken) => boolean | Promise<boolean>
    getResourceServerInfo?: (
      ctx: KoaContextWithOIDC,
      resourceIndicator: string,
      client: Client,
    ) => ResourceServerInfo | Promise<ResourceServerInfo>
  }

  /** One reason a prompt (login, consent) is needed: `check` returns `Check.REQUEST_PROMPT` when it is. */
  export class Check {
    constructor(reason: string, description: string, check: (ctx: KoaContextWithOIDC) => boolean | Promise<boolean>)
    static readonly REQUEST_PROMPT: true
    static readonly NO_NEED_TO_PROMPT: false
  }

  export interface Prompt {
    readonly name: string
    readonly checks: Check[] & { add(check: Check, index?: number): void }
  }

  /** The prompts an authorization request may need, in order (`interactions.policy`). */
  export type InteractionPolicy = Prompt[] & { get(name: string): Prompt | undefined }

  export const interactionPolicy: {
    readonly Check: typeof Check
    base(): InteractionPolicy
  }

  /** oidc-provider's OAuth error classes (`error` is the OAuth error code). */
  export class OIDCProviderError extends Error {
    readonly error: string
    readonly status: number
    error_description?: string
  }
  type OIDCProviderErrorClass = new (description?: string, options?: unknown) => OIDCProviderError
  export const errors: {
    readonly InvalidTarget: OIDCProviderErrorClass
    readonly InvalidRequest: OIDCProviderErrorClass
    readonly [name: string]: OIDCProviderErrorClass
  }

  type TTLValue<T> = number | ((ctx: KoaContextWithOIDC, token: T, client: Client) => number)

  export interface Configuration {
    adapter?: AdapterConstructor
    clients?: ClientMetadata[]
    jwks?: { keys: UnknownObject[] }
    scopes?: string[]
    claims?: Record<string, string[] | null>
    findAccount?: (
      ctx: KoaContextWithOIDC,
      sub: string,
      token?: unknown,
    ) => Account | undefined | Promise<Account | undefined>
    features?: {
      devInteractions?: { enabled: boolean }
      revocation?: {
        enabled: boolean
        allowedPolicy?: (ctx: KoaContextWithOIDC, client: Client, token: BaseToken) => boolean | Promise<boolean>
      }
      rpInitiatedLogout?: {
        enabled: boolean
        logoutSource?: (ctx: KoaContextWithOIDC, form: string) => void | Promise<void>
        postLogoutSuccessSource?: (ctx: KoaContextWithOIDC) => void | Promise<void>
      }
      userinfo?: { enabled: boolean }
      dPoP?: { enabled: boolean; nonceSecret?: Uint8Array; requireNonce?: (ctx: KoaContextWithOIDC) => boolean }
      pushedAuthorizationRequests?: {
        enabled: boolean
        requirePushedAuthorizationRequests?: boolean
        allowUnregisteredRedirectUris?: boolean
      }
      resourceIndicators?: ResourceIndicatorsFeature
      [feature: string]: UnknownObject | undefined
    }
    interactions?: {
      url?: (ctx: KoaContextWithOIDC, interaction: Interaction) => string | Promise<string>
      policy?: InteractionPolicy
    }
    acrValues?: string[]
    issueRefreshToken?: (ctx: KoaContextWithOIDC, client: Client, code: BaseToken) => boolean | Promise<boolean>
    rotateRefreshToken?: boolean | ((ctx: KoaContextWithOIDC) => boolean | Promise<boolean>)
    clientBasedCORS?: (ctx: KoaContextWithOIDC, origin: string, client: Client) => boolean
    renderError?: (ctx: KoaContextWithOIDC, out: Record<string, unknown>, error: Error) => void | Promise<void>
    cookies?: { keys?: string[] }
    ttl?: {
      AccessToken?: TTLValue<BaseToken>
      AuthorizationCode?: TTLValue<BaseToken>
      IdToken?: TTLValue<BaseToken>
      RefreshToken?: TTLValue<BaseToken>
      Interaction?: number | ((ctx: KoaContextWithOIDC, interaction: Interaction) => number)
      Session?: number | ((ctx: KoaContextWithOIDC, session: unknown) => number)
      Grant?: number | ((ctx: KoaContextWithOIDC, grant: Grant) => number)
      [model: string]: unknown
    }
    [key: string]: unknown
  }

  export class Provider {
    constructor(issuer: string, configuration?: Configuration)
    readonly issuer: string
    proxy: boolean
    readonly Grant: GrantConstructor
    /** Issued access tokens; `jkt` is the DPoP key thumbprint a token is bound to. */
    readonly AccessToken: {
      find(value: string): Promise<{ jkt?: string; accountId?: string; destroy(): Promise<void> } | undefined>
    }
    readonly RefreshToken: { find(value: string): Promise<{ jkt?: string; accountId?: string } | undefined> }
    /** Node request listener (Koa's application callback). */
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>
    /** Registers a Koa middleware in front of oidc-provider's own stack. */
    use(middleware: Middleware): this
    on(event: string, listener: (...args: unknown[]) => void): this
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>
    urlFor(name: string, options?: Record<string, unknown>): string
  }

  export default Provider
}

/**
 * A minimal OpenID Provider that can be told to misbehave, for the tests of what a correct
 * provider never does: ID tokens with the wrong `nonce`, `aud`, `iss` or `azp`, issued in the
 * future, for a sign-in too long ago, expired or badly signed, `HS256` and `alg: none`, token
 * endpoints that fail, hang, answer HTML or leave a field out, a discovery document naming another
 * issuer, Authing's non-standard token shapes, and signed userinfo answers (OIDC Core §5.3.2) that
 * are badly signed, unsigned, encrypted or for someone else. It remembers every code and token it
 * issued, and can rotate its signing key.
 *
 * It is a node:http server on 127.0.0.1 (random port) with its issuer at `/oidc`, like Authing.
 * Tokens are signed with `jose`; the RS256 key is generated at start and published at `/oidc/jwks`.
 * The userinfo endpoint (`/oidc/me`) answers every access token it issued with a signed JWT
 * (`application/jwt`, RS256, `iss` and `aud` set), as a provider configured for signed userinfo does.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { CompactEncrypt, SignJWT, exportJWK, generateKeyPair, type JWTPayload } from 'jose'

/** How the provider should misbehave from now on; `'none'` is a well-behaved provider. */
export type Misbehaviour =
  | 'none'
  | 'wrong-nonce'
  | 'wrong-aud'
  | 'wrong-iss-claim'
  | 'expired-id-token'
  /** An ID token whose `exp` passed 40 s ago: inside a 60 s clock tolerance, outside the default 30 s. */
  | 'id-token-expired-40s-ago'
  /** An ID token issued a day in the future (`iat`), as by a provider whose clock is a day ahead. */
  | 'future-iat'
  /** An ID token for this client (`aud` a single string) whose `azp` names another client. */
  | 'foreign-azp'
  /** An ID token whose `auth_time` (when the user last signed in at the provider) is an hour old. */
  | 'old-auth-time'
  | 'bad-signature'
  | 'hs256'
  | 'alg-none'
  /** Like `hs256` and `alg-none`, with the algorithm also listed in the discovery document. */
  | 'hs256-advertised'
  | 'alg-none-advertised'
  | 'token-500'
  /** 429 Too Many Requests with `Retry-After: 7`. */
  | 'token-429'
  /** A 500 whose body echoes the request, body and headers (a gateway's or a debug error page). */
  | 'token-500-echo'
  /** `invalid_grant` whose `error_description` quotes the request body. */
  | 'token-400-echo'
  | 'token-html'
  | 'token-hang'
  | 'token-hang-body'
  | 'token-reset'
  | 'token-invalid-grant'
  /** A token response without `token_type`, every token still in it. */
  | 'token-without-token-type'
  /** A token response without `id_token`, the access and refresh tokens still in it. */
  | 'token-without-id-token'
  | 'discovery-other-issuer'
  | 'authing-envelope'
  | 'authing-expire-in'
  | 'jwt-access-token-exp-only'
  /** Signed userinfo (the ID tokens stay well-formed) signed with a key nobody published. */
  | 'userinfo-bad-signature'
  /** Signed userinfo with HS256, which the discovery document lists for userinfo too. */
  | 'userinfo-hs256-advertised'
  /** Unsigned userinfo (`alg: none`), which the discovery document lists for userinfo too. */
  | 'userinfo-alg-none-advertised'
  /** Signed userinfo with PS256 (the published key, which says RS256), listed for userinfo too. */
  | 'userinfo-ps256-advertised'
  /** Signed userinfo whose `iss` names another issuer. */
  | 'userinfo-wrong-iss'
  /** Signed userinfo whose `aud` names another client. */
  | 'userinfo-wrong-aud'
  /** Signed userinfo with neither `iss` nor `aud`, so it could be anyone's answer. */
  | 'userinfo-without-iss-and-aud'
  /** Encrypted userinfo: a compact JWE (to a key of the provider's own) as `application/jwt`. */
  | 'userinfo-encrypted'

export interface HostileProvider {
  /** `http://127.0.0.1:PORT/oidc` */
  readonly issuer: string
  readonly clientId: string
  /** The only redirect URI the provider accepts. */
  readonly redirectUri: string
  /** The subject of every ID token the provider issues. */
  readonly subject: string
  misbehave(misbehaviour: Misbehaviour): void
  /** Requests received by the token endpoint since start. */
  readonly tokenRequests: number
  /** Every authorization code, access, refresh and ID token issued since start, in order. */
  readonly issued: readonly string[]
  /**
   * Every credential the token endpoint received since start, in order: codes, PKCE verifiers and
   * refresh tokens, and the credentials of `Authorization` and `DPoP` headers.
   */
  readonly received: readonly string[]
  /** Requests received by the discovery endpoint since start. */
  readonly discoveryRequests: number
  /** Requests received by the JWKS endpoint since start. */
  readonly jwksRequests: number
  /**
   * From now on signs with a new RS256 key under a new `kid`, published first in the JWKS beside
   * the previous one (a key rotation).
   */
  rotateSigningKey(): Promise<void>
  /**
   * Answers an authorization request as if the user approved it: returns the redirect URI with
   * `code`, the request's `state` and `iss`. The provider remembers the request's `nonce` and
   * `code_challenge` for the token request.
   */
  authorize(authorizeUrl: string): Promise<string>
  /** Stops the server and destroys every open connection, a hung request included. */
  close(): Promise<void>
}

export interface HostileProviderOptions {
  /** Default `'spa-test'`. */
  clientId?: string
  /** Default `'http://127.0.0.1:5173/callback'`. */
  redirectUri?: string
}

/** What the provider keeps between the authorization request and the token request. */
interface IssuedCode {
  redirectUri: string
  codeChallenge: string
  nonce: string
  scope: string
}

const MOUNT_PATH = '/oidc'
const SUBJECT = 'mallory'
const OTHER_ISSUER = 'https://other.example/oidc'
const ID_TOKEN_LIFETIME_SECONDS = 600
const ACCESS_TOKEN_LIFETIME_SECONDS = 3600
/** The `exp` of the JWT access token under `jwt-access-token-exp-only`, in seconds from now. */
const JWT_ACCESS_TOKEN_LIFETIME_SECONDS = 1234
const DAY_SECONDS = 24 * 3600
/** What the discovery document lists as ID-token signing algorithms, where it is not just RS256. */
const advertisedAlgs: Partial<Record<Misbehaviour, string[]>> = {
  'hs256-advertised': ['RS256', 'HS256'],
  'alg-none-advertised': ['RS256', 'none'],
}
/** What the discovery document lists for signed userinfo, where it is not just RS256. */
const advertisedUserinfoAlgs: Partial<Record<Misbehaviour, string[]>> = {
  'userinfo-hs256-advertised': ['RS256', 'HS256'],
  'userinfo-alg-none-advertised': ['RS256', 'none'],
  'userinfo-ps256-advertised': ['RS256', 'PS256'],
}
const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, content-type, dpop',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
}

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url')
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { ...CORS_HEADERS, 'content-type': contentType, 'cache-control': 'no-store' })
  response.end(body)
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/json', JSON.stringify(body))
}

function oauthError(response: ServerResponse, status: number, error: string, description: string): void {
  sendJson(response, status, { error, error_description: description })
}

/** Starts a hostile provider; call `close()` when done. */
export async function startHostileProvider(options: HostileProviderOptions = {}): Promise<HostileProvider> {
  const clientId = options.clientId ?? 'spa-test'
  const redirectUri = options.redirectUri ?? 'http://127.0.0.1:5173/callback'
  let kid = randomUUID()
  let signing = await generateKeyPair('RS256')
  // Signs with a key nobody published, under the published key's `kid`.
  const impostor = await generateKeyPair('RS256')
  // An RSA-PSS key for PS256 (WebCrypto keeps RS256 and PS256 keys apart), also unpublished.
  const pss = await generateKeyPair('PS256')
  const sharedSecret = randomBytes(32)
  const publishedJwks = [{ ...(await exportJWK(signing.publicKey)), kid, alg: 'RS256', use: 'sig' }]
  // The key encrypted userinfo is encrypted to: the provider's own, so no client can read it.
  const encryption = await generateKeyPair('RSA-OAEP-256')

  let misbehaviour: Misbehaviour = 'none'
  let tokenRequests = 0
  let discoveryRequests = 0
  let jwksRequests = 0
  const codes = new Map<string, IssuedCode>()
  const issued: string[] = []
  const received: string[] = []
  const sockets = new Set<Socket>()
  let issuer = ''

  function discoveryDocument(): Record<string, unknown> {
    return {
      issuer: misbehaviour === 'discovery-other-issuer' ? OTHER_ISSUER : issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      revocation_endpoint: `${issuer}/revoke`,
      end_session_endpoint: `${issuer}/session/end`,
      userinfo_endpoint: `${issuer}/me`,
      userinfo_signing_alg_values_supported: advertisedUserinfoAlgs[misbehaviour] ?? ['RS256'],
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      subject_types_supported: ['public'],
      scopes_supported: ['openid', 'profile', 'offline_access'],
      token_endpoint_auth_methods_supported: ['none'],
      id_token_signing_alg_values_supported: advertisedAlgs[misbehaviour] ?? ['RS256'],
      authorization_response_iss_parameter_supported: true,
      code_challenge_methods_supported: ['S256'],
    }
  }

  /** `iat` and `exp` of the next ID token, epoch seconds. */
  function idTokenTimes(now: number): { iat: number; exp: number } {
    switch (misbehaviour) {
      case 'expired-id-token':
        return { iat: now - 2 * 3600, exp: now - 3600 }
      case 'id-token-expired-40s-ago':
        return { iat: now - 40 - ID_TOKEN_LIFETIME_SECONDS, exp: now - 40 }
      case 'future-iat':
        return { iat: now + DAY_SECONDS, exp: now + DAY_SECONDS + ID_TOKEN_LIFETIME_SECONDS }
      default:
        return { iat: now, exp: now + ID_TOKEN_LIFETIME_SECONDS }
    }
  }

  async function idToken(nonce: string | undefined): Promise<string> {
    const now = epochSeconds()
    const claims: JWTPayload = {
      iss: misbehaviour === 'wrong-iss-claim' ? OTHER_ISSUER : issuer,
      aud: misbehaviour === 'wrong-aud' ? 'someone-else' : clientId,
      sub: SUBJECT,
      ...idTokenTimes(now),
      // The user signed in at the provider just now, or an hour ago.
      auth_time: misbehaviour === 'old-auth-time' ? now - 3600 : now,
      ...(misbehaviour === 'foreign-azp' ? { azp: 'another-client' } : {}),
      ...(nonce === undefined
        ? {}
        : { nonce: misbehaviour === 'wrong-nonce' ? 'not-the-nonce-of-this-sign-in' : nonce }),
    }
    switch (misbehaviour) {
      case 'alg-none':
      case 'alg-none-advertised':
        return `${base64url(JSON.stringify({ alg: 'none' }))}.${base64url(JSON.stringify(claims))}.`
      case 'hs256':
      case 'hs256-advertised':
        return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(sharedSecret)
      case 'bad-signature':
        return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(impostor.privateKey)
      default:
        return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(signing.privateKey)
    }
  }

  async function tokenBody(nonce: string | undefined, scope: string): Promise<Record<string, unknown>> {
    const body: Record<string, unknown> = {
      access_token: base64url(randomBytes(24)),
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_LIFETIME_SECONDS,
      refresh_token: base64url(randomBytes(24)),
      scope,
      id_token: await idToken(nonce),
    }
    if (misbehaviour === 'authing-expire-in') {
      delete body['expires_in']
      body['expire_in'] = 7200
    }
    if (misbehaviour === 'jwt-access-token-exp-only') {
      delete body['expires_in']
      const now = epochSeconds()
      body['access_token'] = await new SignJWT({ iss: issuer, sub: SUBJECT, client_id: clientId, scope })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' })
        .setIssuedAt(now)
        .setExpirationTime(now + JWT_ACCESS_TOKEN_LIFETIME_SECONDS)
        .sign(signing.privateKey)
    }
    if (misbehaviour === 'token-without-token-type') delete body['token_type']
    if (misbehaviour === 'token-without-id-token') delete body['id_token']
    for (const token of [body['access_token'], body['refresh_token'], body['id_token']]) {
      if (typeof token === 'string') issued.push(token)
    }
    return body
  }

  function handleAuthorize(url: URL, response: ServerResponse): void {
    const params = url.searchParams
    const state = params.get('state')
    const nonce = params.get('nonce')
    const codeChallenge = params.get('code_challenge')
    if (params.get('client_id') !== clientId || params.get('redirect_uri') !== redirectUri) {
      oauthError(response, 400, 'invalid_request', 'unknown client_id or redirect_uri')
      return
    }
    if (
      params.get('response_type') !== 'code' ||
      params.get('code_challenge_method') !== 'S256' ||
      !codeChallenge ||
      !state ||
      !nonce
    ) {
      oauthError(response, 400, 'invalid_request', 'response_type=code, PKCE S256, state and nonce are required')
      return
    }
    const code = base64url(randomBytes(24))
    issued.push(code)
    codes.set(code, { redirectUri, codeChallenge, nonce, scope: params.get('scope') ?? 'openid' })
    const location = new URL(redirectUri)
    location.searchParams.set('code', code)
    location.searchParams.set('state', state)
    location.searchParams.set('iss', issuer)
    response.writeHead(302, { ...CORS_HEADERS, location: location.href })
    response.end()
  }

  /** Notes the credentials `request` carries: its form's secrets and its credential headers. */
  function noteReceived(request: IncomingMessage, form: URLSearchParams): void {
    for (const name of ['code', 'code_verifier', 'refresh_token']) received.push(...form.getAll(name))
    const authorization = request.headers.authorization?.replace(/^\S+\s+/, '')
    for (const value of [authorization, request.headers.dpop]) if (typeof value === 'string') received.push(value)
  }

  /** The request as a debugging gateway shows it: request line, headers, body. */
  function echoOf(request: IncomingMessage, form: URLSearchParams): string {
    const headers = Object.entries(request.headers).map(([name, value]) => `${name}: ${String(value)}`)
    return [`${request.method} ${request.url} HTTP/1.1`, ...headers, '', form.toString()].join('\n')
  }

  async function handleToken(request: IncomingMessage, response: ServerResponse): Promise<void> {
    tokenRequests++
    const form = await readForm(request)
    noteReceived(request, form)
    switch (misbehaviour) {
      case 'token-500-echo':
        send(response, 500, 'text/plain', `Upstream error while handling:\n${echoOf(request, form)}`)
        return
      case 'token-400-echo':
        oauthError(response, 400, 'invalid_grant', `The grant in "${form.toString()}" is not valid`)
        return
      case 'token-hang':
        // Never answer; close() destroys the socket.
        return
      case 'token-hang-body':
        // Headers and the start of the body, then nothing; close() destroys the socket.
        response.writeHead(200, { ...CORS_HEADERS, 'content-type': 'application/json' })
        response.write('{"access_token":')
        return
      case 'token-reset':
        request.socket.destroy()
        return
      case 'token-500':
        send(response, 500, 'text/plain', 'Internal Server Error')
        return
      case 'token-429':
        response.writeHead(429, { ...CORS_HEADERS, 'content-type': 'text/plain', 'retry-after': '7' })
        response.end('Too Many Requests')
        return
      case 'token-html':
        send(
          response,
          200,
          'text/html; charset=utf-8',
          '<html><body><h1>Welcome!</h1><p>Please sign in.</p></body></html>',
        )
        return
      case 'token-invalid-grant':
        oauthError(response, 400, 'invalid_grant', 'The authorization code is invalid or has expired.')
        return
    }
    if (form.get('client_id') !== clientId) {
      oauthError(response, 401, 'invalid_client', 'unknown client')
      return
    }
    let nonce: string | undefined
    let scope: string
    if (form.get('grant_type') === 'authorization_code') {
      const code = form.get('code') ?? ''
      const issued = codes.get(code)
      codes.delete(code)
      const verifier = form.get('code_verifier') ?? ''
      if (issued === undefined || form.get('redirect_uri') !== issued.redirectUri) {
        oauthError(response, 400, 'invalid_grant', 'unknown, used or mismatched authorization code')
        return
      }
      if (createHash('sha256').update(verifier).digest('base64url') !== issued.codeChallenge) {
        oauthError(response, 400, 'invalid_grant', 'PKCE verification failed')
        return
      }
      nonce = issued.nonce
      scope = issued.scope
    } else if (form.get('grant_type') === 'refresh_token' && form.get('refresh_token')) {
      scope = 'openid profile offline_access'
    } else {
      oauthError(response, 400, 'unsupported_grant_type', 'authorization_code and refresh_token only')
      return
    }
    const body = await tokenBody(nonce, scope)
    if (misbehaviour === 'authing-envelope') {
      sendJson(response, 200, { statusCode: 200, message: 'success', requestId: 'x', data: body })
      return
    }
    sendJson(response, 200, body)
  }

  /** The userinfo answer for the user of every token, as a JWT signed (or not) as the misbehaviour says. */
  async function userinfoJwt(): Promise<string> {
    const claims: JWTPayload = { sub: SUBJECT, name: 'Mallory Example' }
    if (misbehaviour !== 'userinfo-without-iss-and-aud') {
      claims.iss = misbehaviour === 'userinfo-wrong-iss' ? OTHER_ISSUER : issuer
      claims.aud = misbehaviour === 'userinfo-wrong-aud' ? 'someone-else' : clientId
    }
    switch (misbehaviour) {
      case 'userinfo-alg-none-advertised':
        return `${base64url(JSON.stringify({ alg: 'none' }))}.${base64url(JSON.stringify(claims))}.`
      case 'userinfo-hs256-advertised':
        return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(sharedSecret)
      case 'userinfo-bad-signature':
        return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(impostor.privateKey)
      case 'userinfo-ps256-advertised':
        return new SignJWT(claims).setProtectedHeader({ alg: 'PS256', kid }).sign(pss.privateKey)
      case 'userinfo-encrypted': {
        const signed = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(signing.privateKey)
        return new CompactEncrypt(new TextEncoder().encode(signed))
          .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A128GCM', cty: 'JWT' })
          .encrypt(encryption.publicKey)
      }
      default:
        return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(signing.privateKey)
    }
  }

  async function handleUserinfo(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
    if (token === undefined || !issued.includes(token)) {
      response.writeHead(401, { ...CORS_HEADERS, 'www-authenticate': 'Bearer error="invalid_token"' })
      response.end()
      return
    }
    send(response, 200, 'application/jwt', await userinfoJwt())
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', issuer)
    if (request.method === 'OPTIONS') {
      response.writeHead(204, CORS_HEADERS)
      response.end()
      return
    }
    switch (`${request.method} ${url.pathname}`) {
      case `GET ${MOUNT_PATH}/.well-known/openid-configuration`:
        discoveryRequests++
        sendJson(response, 200, discoveryDocument())
        return
      case `GET ${MOUNT_PATH}/jwks`:
        jwksRequests++
        sendJson(response, 200, { keys: publishedJwks })
        return
      case `GET ${MOUNT_PATH}/me`:
        await handleUserinfo(request, response)
        return
      case `GET ${MOUNT_PATH}/auth`:
        handleAuthorize(url, response)
        return
      case `POST ${MOUNT_PATH}/token`:
        await handleToken(request, response)
        return
      case `POST ${MOUNT_PATH}/revoke`:
        await readForm(request)
        send(response, 200, 'text/plain', '')
        return
      default:
        oauthError(response, 404, 'not_found', `${request.method} ${url.pathname} is not served here`)
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, 'text/plain', String(error))
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  // Never keep the test process alive because of a provider someone forgot to close.
  server.unref()
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${MOUNT_PATH}`

  let closed: Promise<void> | undefined
  return {
    issuer,
    clientId,
    redirectUri,
    subject: SUBJECT,
    misbehave(next) {
      misbehaviour = next
    },
    get tokenRequests() {
      return tokenRequests
    },
    get issued() {
      return issued
    },
    get received() {
      return received
    },
    get discoveryRequests() {
      return discoveryRequests
    },
    get jwksRequests() {
      return jwksRequests
    },
    async rotateSigningKey() {
      kid = randomUUID()
      signing = await generateKeyPair('RS256')
      publishedJwks.unshift({ ...(await exportJWK(signing.publicKey)), kid, alg: 'RS256', use: 'sig' })
    },
    async authorize(authorizeUrl) {
      const response = await fetch(authorizeUrl, { redirect: 'manual' })
      const location = response.headers.get('location')
      if (response.status !== 302 || location === null) {
        throw new Error(`The authorization request was refused (${response.status}): ${await response.text()}`)
      }
      return location
    },
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        for (const socket of sockets) socket.destroy()
      })
      return closed
    },
  }
}

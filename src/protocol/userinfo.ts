import * as oauth from 'oauth4webapi'
import { AuthError } from '../platform/errors.js'
import { challengeError, readChallenge } from './challenge.js'
import { classifyJwtFailure, SIGNING_ALGORITHMS, verifySignature } from './signed-jwt.js'
import { missingEndpoint, toAuthError, type ExchangeNotes } from './step-failure.js'
import { withDpopNonceRetry, type Transport } from './transport.js'

/** The claims the userinfo endpoint returns (OIDC Core §5.3.2); `sub` is always the session's user. */
export type UserInfo = oauth.UserInfoResponse

/**
 * Calls the userinfo endpoint with the session's access token (a DPoP proof with `dpop`, retried
 * once on `use_dpop_nonce`) and checks that its `sub` is the ID token's (OIDC Core §5.3.4): a
 * provider answering for another user is an error, never a silent swap of identity. A signed answer
 * (`application/jwt`, OIDC Core §5.3.2) is held to the ID token's standard: RS256 or ES256 only, the
 * signature verified against the provider's JWKS (one re-fetch for a key never seen), `iss` the
 * issuer and `aud` this client, both present. Resolves the claims and the discovery document to use
 * from now on (a copy with a new key set when one was fetched).
 *
 * @throws AuthError `userinfo_subject_mismatch`; `userinfo_signature_invalid`,
 *   `userinfo_alg_unsupported`, `userinfo_claims_invalid`, `userinfo_encrypted` for a signed answer;
 *   `token_rejected` when the endpoint refuses the access token (`invalid_token`, RFC 6750 §3.1);
 *   `invalid_response` when the provider has no userinfo endpoint; and the transport codes.
 */
export async function requestUserInfo(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  input: { accessToken: string; subject: string; dpop?: oauth.DPoPHandle | undefined },
  transport: Transport,
): Promise<{ claims: UserInfo; as: oauth.AuthorizationServer }> {
  if (as.userinfo_endpoint === undefined) {
    throw missingEndpoint(as.issuer, 'userinfo_endpoint')
  }
  const seen: ExchangeNotes = {}
  try {
    return await withDpopNonceRetry(async () => {
      const raw = await oauth.userInfoRequest(
        as,
        client,
        input.accessToken,
        transport.options({ dpop: input.dpop, seen }),
      )
      const claims = await oauth.processUserInfoResponse(withSigningAlgorithms(as), client, input.subject, raw)
      if (!isJwt(raw)) return { claims, as }
      assertIssuerAndAudience(claims)
      return { claims, as: await verifySignature(as, raw, transport) }
    })
  } catch (error) {
    const otherUser = error instanceof oauth.OperationProcessingError && error.code === oauth.JSON_ATTRIBUTE_COMPARISON
    const failure = otherUser
      ? new AuthError(
          'userinfo_subject_mismatch',
          `The userinfo endpoint answered for another user than the one signed in (OIDC Core §5.3.4), so its claims were refused. Sign in again.`,
          { cause: error },
        )
      : (toChallengeError(error) ?? toSignedUserInfoError(error) ?? error)
    // Every failure passes the scrubbing of what the request carried (the access token, a DPoP proof).
    throw toAuthError(failure, 'reading userinfo', seen)
  }
}

/** The error for a challenge of the userinfo endpoint (see {@link readChallenge}); `undefined` for anything else. */
function toChallengeError(error: unknown): AuthError | undefined {
  if (!(error instanceof oauth.WWWAuthenticateChallengeError)) return undefined
  const challenge = readChallenge(error.cause)
  return challenge && challengeError(challenge, 'The userinfo endpoint', error)
}

/**
 * `as` with the userinfo signing algorithms narrowed to the accepted ones, for oauth4webapi's own
 * check of the answer's `alg` (it checks nothing when discovery lists none).
 */
function withSigningAlgorithms(as: oauth.AuthorizationServer): oauth.AuthorizationServer {
  const listed = as.userinfo_signing_alg_values_supported ?? SIGNING_ALGORITHMS
  return { ...as, userinfo_signing_alg_values_supported: listed.filter((alg) => SIGNING_ALGORITHMS.includes(alg)) }
}

function isJwt(response: Response): boolean {
  return response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() === 'application/jwt'
}

/**
 * oauth4webapi compares `iss` and `aud` only when they are there; a signed answer without them
 * says nothing about whom it was issued by and for, and could be another client's.
 */
function assertIssuerAndAudience(claims: UserInfo): void {
  const missing = ['iss', 'aud'].filter((claim) => claims[claim] === undefined)
  if (missing.length === 0) return
  throw new AuthError(
    'userinfo_claims_invalid',
    `The signed userinfo answer has no ${missing.map((claim) => `"${claim}"`).join(' and ')} claim, so nothing says whom it was issued by and for (OIDC Core §5.3.2); it was refused. Check the provider's signed-userinfo settings.`,
  )
}

/** Names a failure of a signed userinfo answer (see {@link classifyJwtFailure}); `undefined` for anything else. */
function toSignedUserInfoError(error: unknown): AuthError | undefined {
  const failure = classifyJwtFailure(error)
  switch (failure?.kind) {
    case 'algorithm': {
      const what =
        failure.alg === 'none'
          ? 'sent an unsigned userinfo answer (alg "none")'
          : `signed the userinfo answer with ${failure.alg}`
      return new AuthError(
        'userinfo_alg_unsupported',
        `The provider ${what}, and only RS256 and ES256 signatures are accepted (a browser holds no secret to check HS* with). Set the application's userinfo signing algorithm to RS256 (or ES256) at the provider.`,
        { cause: error },
      )
    }
    case 'expired':
    case 'claim': {
      const what = failure.kind === 'expired' ? 'has expired' : `has a wrong "${failure.claim ?? 'a'}" claim`
      return new AuthError(
        'userinfo_claims_invalid',
        `The signed userinfo answer ${what}, so its claims were refused. Check that issuer and clientId match the provider's application, and this device's clock.`,
        { cause: error },
      )
    }
    case 'signature':
      return new AuthError(
        'userinfo_signature_invalid',
        `The signed userinfo answer's signature does not verify against the provider's published keys (${failure.detail}); its claims were refused.`,
        { cause: error },
      )
    case 'encrypted':
      return new AuthError(
        'userinfo_encrypted',
        'The provider encrypts its userinfo answers (JWE), which a browser app cannot decrypt: it keeps no private key for it. Turn userinfo encryption off for the application at the provider (signing alone is fine).',
        { cause: error },
      )
    default:
      return undefined
  }
}

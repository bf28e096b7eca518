import * as oauth from 'oauth4webapi'
import { AuthError, missingEndpoint } from '../platform/errors.js'
import { toAuthError } from './step-failure.js'
import { withDpopNonceRetry, type ExchangeNotes, type Transport } from './transport.js'

/** The claims the userinfo endpoint returns (OIDC Core §5.3.2); `sub` is always the session's user. */
export type UserInfo = oauth.UserInfoResponse

/**
 * Calls the userinfo endpoint with the session's access token (a DPoP proof with `dpop`, retried
 * once on `use_dpop_nonce`) and checks that its `sub` is the ID token's (OIDC Core §5.3.4): a
 * provider answering for another user is an error, never a silent swap of identity.
 *
 * @throws AuthError `userinfo_subject_mismatch`, `invalid_response` when the provider has no
 *   userinfo endpoint, `client_rejected` for a refused token, and the transport codes.
 */
export async function requestUserInfo(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  input: { accessToken: string; subject: string; dpop?: oauth.DPoPHandle | undefined },
  transport: Transport,
): Promise<UserInfo> {
  if (as.userinfo_endpoint === undefined) {
    throw missingEndpoint(as.issuer, 'userinfo_endpoint')
  }
  const seen: ExchangeNotes = {}
  try {
    return await withDpopNonceRetry(async () => {
      const response = await oauth.userInfoRequest(
        as,
        client,
        input.accessToken,
        transport.options({ dpop: input.dpop, seen }),
      )
      return oauth.processUserInfoResponse(as, client, input.subject, response)
    })
  } catch (error) {
    const otherUser = error instanceof oauth.OperationProcessingError && error.code === oauth.JSON_ATTRIBUTE_COMPARISON
    const failure = otherUser
      ? new AuthError(
          'userinfo_subject_mismatch',
          `The userinfo endpoint answered for another user than the one signed in (OIDC Core §5.3.4), so its claims were refused. Sign in again.`,
          { cause: error },
        )
      : error
    throw toAuthError(failure, 'reading userinfo', seen)
  }
}

import { sameOriginPath, type SignInOptions } from './authorize.js'
import { readCallback, withoutCallbackParams } from './callback.js'
import type { ResolvedConfig } from './config.js'
import type { AuthEnvironment } from './environment.js'
import { AuthError } from './errors.js'
import type { PendingSignIn, Protocol } from './protocol.js'
import type { Session } from './session.js'
import { peekSingleUse, putSingleUse, takeSingleUse } from './single-use.js'
import type { UserClaims } from './token-set.js'

/** What `handleRedirectCallback()` resolves: the path to go back to and the signed-in user. */
export interface SignInResult {
  returnTo: string
  user: UserClaims
}

/** The redirect sign-in: the authorization URL with its transaction, and the callback that completes it. */
export interface SignInFlow {
  createSignInUrl(options: SignInOptions): Promise<string>
  /** One exchange per callback URL, even when a framework calls twice (React StrictMode). */
  handleRedirectCallback(url: string): Promise<SignInResult>
}

/** Authing's authorization codes live ten minutes; a transaction never outlives its code. */
const TRANSACTION_LIFETIME_MS = 10 * 60_000
const TX_PREFIX = 'tx:'

export function createSignInFlow(deps: {
  config: ResolvedConfig
  env: AuthEnvironment
  session: Session
  protocol(): Promise<Protocol>
}): SignInFlow {
  const { config, env, session } = deps
  const callbacks = new Map<string, Promise<SignInResult>>()

  async function complete(url: string): Promise<SignInResult> {
    const params = readCallback(url, config.redirectUri)
    if (params === undefined) {
      const expected = new URL(config.redirectUri)
      throw new AuthError(
        'not_a_callback',
        `This address is not a sign-in response: it must be ${expected.origin}${expected.pathname} with "state" and "code" (or "error").`,
      )
    }
    if (url === env.currentUrl()) env.replaceUrl(withoutCallbackParams(url))
    const store = await session.ready
    const state = params.get('state')!
    const peeked = await peekSingleUse<PendingSignIn>(store, TX_PREFIX, state)
    if (
      peeked?.clientId !== undefined &&
      (peeked.clientId !== config.clientId || peeked.issuer !== config.issuer.href)
    ) {
      // Left in place: the client it belongs to can still complete it.
      throw new AuthError(
        'transaction_client_mismatch',
        `This sign-in response belongs to a sign-in started by another client (${peeked.issuer}, ${peeked.clientId}); hand it to that client's handleRedirectCallback().`,
      )
    }
    const pending = await take(store, state)
    const protocol = await deps.protocol()
    const { tokens, claims } = await protocol.completeSignIn(params, pending)
    await session.commitSignIn({ tokens, claims, dpopKey: pending.dpopKey })
    return { returnTo: pending.returnTo, user: claims }
  }

  async function take(store: Awaited<Session['ready']>, state: string): Promise<PendingSignIn> {
    const taken = await takeSingleUse<PendingSignIn>(store, TX_PREFIX, state, env.now())
    switch (taken.outcome) {
      case 'taken':
        return taken.value
      case 'already-taken':
        throw new AuthError(
          'callback_replayed',
          'This sign-in response was already used. Each response works once; sign in again if needed.',
        )
      case 'expired':
        throw new AuthError(
          'transaction_expired',
          'This sign-in was started more than ten minutes ago and has expired. Sign in again.',
        )
      case 'missing':
        throw taken.othersPending > 0
          ? new AuthError(
              'state_mismatch',
              'The sign-in response does not match the sign-in this browser started (the state was altered). Sign in again.',
            )
          : new AuthError(
              'transaction_not_found',
              'No sign-in was started in this browser for this response (it was opened elsewhere, or storage was cleared). Sign in again.',
            )
    }
  }

  return {
    async createSignInUrl(options) {
      const current = new URL(env.currentUrl())
      const returnTo = sameOriginPath(
        options.returnTo ?? current.pathname + current.search + current.hash,
        current.origin,
      )
      const [store, protocol] = await Promise.all([session.ready, deps.protocol()])
      const { url, pending } = await protocol.startSignIn({ returnTo, authorizeParams: options.authorizeParams })
      await putSingleUse(store, TX_PREFIX, pending.state, pending, env.now(), TRANSACTION_LIFETIME_MS)
      return url
    },
    handleRedirectCallback(url) {
      let pending = callbacks.get(url)
      if (pending === undefined) {
        pending = complete(url)
        callbacks.set(url, pending)
      }
      return pending
    },
  }
}

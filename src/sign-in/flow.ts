import type { SignInOptions } from '../protocol/authorize.js'
import { absoluteUrl, readCallback, withoutCallbackParams } from '../protocol/callback-url.js'
import type { ResolvedConfig } from '../protocol/config.js'
import type { TabSync } from '../platform/tab-sync.js'
import type { HostEnvironment } from '../platform/environment.js'
import { AuthError, asAuthError, errorData } from '../platform/errors.js'
import type { PendingSignIn, Protocol, SilentSignInReason } from '../protocol/provider.js'
import { sameOriginPath } from '../protocol/return-to.js'
import type { Session } from '../session/session.js'
import type { KeyValueStore } from '../platform/storage.js'
import { peekSingleUse, putSingleUse, takeSingleUse } from '../platform/single-use.js'
import type { PopupOutcome, SessionMessage } from '../session/messages.js'
import type { UserClaims } from '../protocol/token-set.js'

/**
 * What `handleRedirectCallback()` resolves: the path to go back to, and the signed-in user — or,
 * for a `prompt: 'none'` sign-in the provider could not complete without the user, `signedIn:
 * false` with the provider's reason (any existing session is left as it was).
 */
export type SignInResult =
  | { signedIn: true; returnTo: string; user: UserClaims }
  | { signedIn: false; returnTo: string; user: null; reason: SilentSignInReason }

/** The redirect sign-in: the authorization URL with its transaction, and the callback that completes it. */
export interface SignInFlow {
  /** Stores a new sign-in and returns its authorization URL and `state`. */
  start(options: SignInOptions & { display?: 'popup' }): Promise<{ url: string; state: string }>
  /**
   * Completes the callback at `url` — absolute, or a path resolved against the page; default the
   * page's address. One exchange per callback URL, even when a framework calls twice (React StrictMode).
   */
  handleRedirectCallback(url: string | undefined): Promise<SignInResult>
}

/** Authing's authorization codes live ten minutes; a transaction never outlives its code. */
const TRANSACTION_LIFETIME_MS = 10 * 60_000
const TX_PREFIX = 'tx:'

export function createSignInFlow(deps: {
  config: ResolvedConfig
  env: HostEnvironment
  session: Pick<Session, 'commitSignIn'>
  /** The store of sign-in transactions (the session's, once open). */
  store: Promise<KeyValueStore>
  tabs: TabSync<SessionMessage>
  protocol(): Promise<Protocol>
}): SignInFlow {
  const { config, env, session } = deps
  const callbacks = new Map<string, Promise<SignInResult>>()
  /** The page's address, or `undefined` where there is none (a server). */
  const pageUrl = () => absoluteUrl(undefined, config.redirectUri, () => env.currentUrl())

  async function complete(url: string): Promise<SignInResult> {
    const params = readCallback(url, config.redirectUri)
    if (params === undefined) throw notACallback(config.redirectUri)
    if (url === pageUrl()) env.replaceUrl(withoutCallbackParams(url))
    const store = await deps.store
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
    try {
      const result = await exchange(params, await take(store, state, env.now()))
      reportToOpener(peeked, state, result.signedIn ? { signedIn: true } : { signedIn: false, reason: result.reason })
      return result
    } catch (error) {
      const failure = asAuthError(error)
      reportToOpener(peeked, state, { error: errorData(failure) })
      throw failure
    }
  }

  async function exchange(params: URLSearchParams, pending: PendingSignIn): Promise<SignInResult> {
    const outcome = await (await deps.protocol()).completeSignIn(params, pending)
    if ('silent' in outcome) return { signedIn: false, returnTo: pending.returnTo, user: null, reason: outcome.silent }
    await session.commitSignIn({ tokens: outcome.tokens, claims: outcome.claims, dpopKey: pending.dpopKey })
    return { signedIn: true, returnTo: pending.returnTo, user: outcome.claims }
  }

  /**
   * In a sign-in popup, the callback page tells the opener over the tabs' channel (no
   * `window.opener`, which a provider's Cross-Origin-Opener-Policy severs) and closes itself.
   */
  function reportToOpener(pending: PendingSignIn | undefined, state: string, outcome: PopupOutcome): void {
    if (pending?.display !== 'popup') return
    deps.tabs.announce({ type: 'popup-result', state, outcome })
    if (env.closeWindow) env.closeWindow()
    else globalThis.close()
  }

  return {
    async start({ returnTo, ...options }) {
      const current = new URL(env.currentUrl())
      const path = sameOriginPath(returnTo ?? current.pathname + current.search + current.hash, current.origin)
      const [store, protocol] = await Promise.all([deps.store, deps.protocol()])
      const { url, pending } = await protocol.startSignIn({ ...options, returnTo: path })
      await putSingleUse(store, TX_PREFIX, pending.state, pending, env.now(), TRANSACTION_LIFETIME_MS)
      return { url, state: pending.state }
    },
    handleRedirectCallback(url) {
      const absolute = absoluteUrl(url, config.redirectUri, () => env.currentUrl())
      if (absolute === undefined) return Promise.reject(notACallback(config.redirectUri))
      let pending = callbacks.get(absolute)
      if (pending === undefined) {
        pending = complete(absolute).catch((error: unknown) => Promise.reject(asAuthError(error)))
        callbacks.set(absolute, pending)
      }
      return pending
    },
  }
}

/** Takes the sign-in `state` names, once: the error says why it cannot be taken. */
async function take(store: KeyValueStore, state: string, now: number): Promise<PendingSignIn> {
  const taken = await takeSingleUse<PendingSignIn>(store, TX_PREFIX, state, now)
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

/**
 * `not_a_callback`: the address handed to `handleRedirectCallback` is not an authorization response
 * at `redirectUri`.
 */
function notACallback(redirectUri: string): AuthError<'not_a_callback'> {
  const expected = new URL(redirectUri)
  return new AuthError(
    'not_a_callback',
    `This address is not a sign-in response: it must be ${expected.origin}${expected.pathname} with "state" and "code" (or "error").`,
  )
}

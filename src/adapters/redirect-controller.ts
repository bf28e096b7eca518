/**
 * What a framework binding needs around one client, framework-neutral: the snapshot it renders
 * while the page is a redirect callback (loading, never a flash of "signed out"), the callback's
 * failure, and a guard around the app's `onRedirectCallback`. React reads it with
 * `useSyncExternalStore`, Vue with a `shallowRef`; neither keeps any of this logic itself.
 */
import type { AuthClient } from '../client.js'
import { AuthError, asAuthError } from '../platform/errors.js'
import type { AuthState } from '../session/machine.js'
import type { SignInResult } from '../sign-in/flow.js'

/** What a binding renders: the client's snapshot as the page should show it, and why the callback failed. */
export interface RedirectSnapshot {
  /** The client's snapshot; `status: 'loading'` until the redirect callback of this page is handled. */
  readonly state: AuthState
  /** Why the redirect callback failed (`callback_replayed`, `state_mismatch`, `redirect_callback_failed`, …), else `null`. */
  readonly callbackError: AuthError | null
}

/** Options of {@link createRedirectController}. */
export interface RedirectControllerOptions {
  /**
   * Called once the redirect callback succeeded; its promise is not awaited. Read when the callback
   * completes, so a binding may set or replace it after creating the controller. Default: replace
   * the address with `returnTo` (`history.replaceState`).
   */
  onRedirectCallback?: ((result: SignInResult) => unknown) | undefined
}

/** The redirect handling of one client for one binding (a React provider, a Vue app). */
export interface RedirectController {
  /** The current {@link RedirectSnapshot}: the same object until something in it changes. */
  getSnapshot(): RedirectSnapshot
  /** Calls `listener` after every change of the snapshot; returns the function that unsubscribes. */
  subscribe(listener: () => void): () => void
  /**
   * Reads the address bar and, when the page is the redirect URI, handles the callback — once per
   * client, however many controllers or effects ask — then calls `onRedirectCallback`. Resolves
   * once the stored session is loaded and the callback settled; never rejects. Without `window`
   * (server rendering) it does nothing, resolves at once, and the snapshot stays `loading`.
   */
  start(): Promise<void>
  /** The binding is gone (an unmount): a callback that completes later calls no `onRedirectCallback`. `start()` undoes it. */
  stop(): void
}

/** The code exchange of each client: one per client, whichever controller starts it. */
const exchanges = new WeakMap<AuthClient, Promise<SignInResult>>()

/**
 * Creates the redirect handling of `client` for a framework binding. Until {@link
 * RedirectController.start} has looked at the address bar the snapshot says `loading`, which is
 * also what a server renders, so hydration finds the same markup.
 *
 * `callbackError` is the `AuthError` the callback rejected with, or `redirect_callback_failed` when
 * the app's `onRedirectCallback` threw or rejected (its `cause`); the user is signed in either way.
 */
export function createRedirectController(
  client: AuthClient,
  options: RedirectControllerOptions = {},
): RedirectController {
  const listeners = new Set<() => void>()
  let pending = true
  let callbackError: AuthError | null = null
  let active = false
  let started: Promise<void> | undefined
  let snapshot: RedirectSnapshot | undefined
  let shownFrom: AuthState | undefined

  const notify = () => listeners.forEach((listener) => listener())
  const update = (changes: { pending?: boolean; callbackError?: AuthError }) => {
    pending = changes.pending ?? pending
    callbackError = changes.callbackError ?? callbackError
    snapshot = undefined
    notify()
  }

  async function handleCallback(): Promise<void> {
    let exchange = exchanges.get(client)
    // Another controller of this client already exchanged the code: it also navigates.
    const navigates = exchange === undefined
    if (exchange === undefined) exchanges.set(client, (exchange = client.handleRedirectCallback()))
    try {
      const result = await exchange
      update({ pending: false })
      if (navigates && active) callAppCallback(options.onRedirectCallback ?? replaceAddress, result, update)
    } catch (error) {
      update({ pending: false, callbackError: asAuthError(error) })
    }
  }

  return {
    getSnapshot() {
      const state = client.getSnapshot()
      if (snapshot === undefined || shownFrom !== state) {
        shownFrom = state
        snapshot = { state: pending ? asLoading(state) : state, callbackError }
      }
      return snapshot
    },
    subscribe(listener) {
      listeners.add(listener)
      const unsubscribe = client.subscribe(listener)
      return () => {
        listeners.delete(listener)
        unsubscribe()
      }
    },
    start() {
      active = true
      if (typeof window === 'undefined') return Promise.resolve()
      started ??= (async () => {
        // A binding starts in an effect (or when installed): the one place the address bar is read.
        if (client.isRedirectCallback()) await handleCallback()
        else update({ pending: false })
        await client.ready()
      })()
      return started
    },
    stop() {
      active = false
    },
  }
}

/** A `status: 'loading'` view of `state`, keeping what is not about the session. */
function asLoading(state: AuthState): AuthState {
  if (state.status === 'loading') return state
  return { status: 'loading', user: null, expiresAt: null, reason: null, storage: state.storage, error: state.error }
}

function replaceAddress({ returnTo }: SignInResult): void {
  globalThis.history.replaceState(globalThis.history.state, '', returnTo)
}

/**
 * Calls the app's callback; what it throws, or what its promise rejects with, becomes
 * `callbackError` instead of an unhandled rejection. Its promise is not awaited: a navigation that
 * never settles must not hold the app in `loading`, and a router guard may itself be waiting for
 * the controller.
 */
function callAppCallback(
  callback: (result: SignInResult) => unknown,
  result: SignInResult,
  update: (changes: { callbackError: AuthError }) => void,
): void {
  const report = (cause: unknown) =>
    update({
      callbackError: new AuthError(
        'redirect_callback_failed',
        "Going back to returnTo failed: onRedirectCallback (or the default navigation, router.replace or history.replaceState) threw or rejected; see this error's cause. The sign-in itself succeeded and the user is signed in: fix the callback or the route.",
        { cause },
      ),
    })
  try {
    Promise.resolve(callback(result)).catch(report)
  } catch (cause) {
    report(cause)
  }
}

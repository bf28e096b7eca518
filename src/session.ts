import type { AuthConfig, ResolvedConfig } from './config.js'
import type { TabSync } from './cross-tab.js'
import { randomId, type AuthEnvironment } from './environment.js'
import { AuthError, isAuthError } from './errors.js'
import type { Protocol } from './protocol.js'
import { createRecordStore } from './record-store.js'
import type { RefreshOptions } from './refresher.js'
import { createScheduler } from './scheduler.js'
import type { SessionActions } from './session-actions.js'
import { loadSession } from './session-load.js'
import {
  initialState,
  toSnapshot,
  transition,
  type AuthState,
  type SessionEvent,
  type SignedOutReason,
} from './session-machine.js'
import { tokensFor, type SessionRecord } from './session-record.js'
import { createSnapshotStore, type SnapshotStore } from './state.js'
import type { KeyValueStore, StorageKind } from './storage.js'
import { followTabs, type SessionMessage } from './tab-follower.js'
import { refreshDueAt, type TokenSet, type UserClaims } from './token-set.js'

/** The session of one client in one tab: its snapshot, its tokens, and every change to it as a commit. */
export interface Session {
  readonly snapshots: SnapshotStore<AuthState>
  /** Resolves with the store once the stored session is loaded; never rejects. */
  readonly ready: Promise<KeyValueStore>
  /** The record this tab holds, if signed in. */
  current(): SessionRecord | undefined
  /**
   * A valid access token (for one API with `resource`): the one in memory while outside the
   * refresh leeway, else a refresh's.
   */
  accessToken(options: RefreshOptions): Promise<string>
  /** Reads the stored record into this tab (after another window committed it); resolves what it holds then. */
  reload(): Promise<SessionRecord | undefined>
  /** Where refreshes run: in the refresh worker, or in this page. */
  refreshIn(): 'worker' | 'page'
  /** Makes a completed sign-in the session (a new generation), in this tab and every other. */
  commitSignIn(signIn: { tokens: TokenSet; claims: UserClaims; dpopKey: CryptoKeyPair | undefined }): Promise<void>
  /**
   * Ends the session at once in this tab, then (inside the lock, so no refresh in flight can
   * bring it back) deletes it, tells the other tabs and revokes its refresh token. Resolves with
   * the record that was ended, for the end-session redirect.
   *
   * @throws AuthError `storage_error` when the store cannot delete it (the session is still ended in memory and in the other tabs).
   */
  signOut(): Promise<SessionRecord | undefined>
  /** Ends the session for `reason` (the DPoP key it is bound to is gone, …), in every tab. */
  end(reason: SignedOutReason, error: AuthError): Promise<void>
  /** When the next refresh (or expiry) is planned, epoch ms. */
  nextRefreshAt(): number | undefined
  dispose(): void
}

/** The code of the next refresh is fetched this long before it is due (in idle time), never on a page load. */
const PRELOAD_LEAD_MS = 30_000

/** Creates the {@link Session}; `protocol` is loaded the first time the provider is needed. */
export function createSession(deps: {
  config: ResolvedConfig
  env: AuthEnvironment
  opened: Promise<{ store: KeyValueStore; kind: StorageKind }>
  /** The configuration as the app gave it: what the refresh worker resolves for itself. */
  authConfig: AuthConfig
  tabs: TabSync<SessionMessage>
  protocol(): Promise<Protocol>
}): Session {
  const { config, env, tabs } = deps
  const records = createRecordStore(lazyStore(deps.opened), config.sessionKey, randomId)
  const snapshots = createSnapshotStore<AuthState>(toSnapshot(initialState))
  const scheduler = createScheduler(env)
  let state = initialState
  let stopFollowing = () => {}
  let useWorker = false
  let actions: Promise<SessionActions> | undefined
  let loadedActions: SessionActions | undefined
  let preload: unknown

  function dispatch(event: SessionEvent): void {
    const result = transition(state, event, { leewaySeconds: config.refreshLeewaySeconds, random: env.random() })
    state = result.state
    for (const effect of result.effects) {
      if (effect.type === 'publish') snapshots.set(toSnapshot(state))
      else if (effect.type === 'unplan') scheduler.cancel()
      else scheduler.schedule(effect.at, effect.task === 'refresh' ? refreshInBackground : expireInBackground)
      if (effect.type === 'plan' && effect.task === 'refresh') planPreload(effect.at)
    }
  }

  /** What changes the session, loaded once, the first time a change is near. */
  function loadActions(): Promise<SessionActions> {
    actions ??= import('./session-actions.js').then(({ createSessionActions }) => {
      const state$ = () => state
      loadedActions = createSessionActions({ ...deps, records, state: state$, dispatch, reload, useWorker })
      return loadedActions
    })
    return actions
  }

  function planPreload(dueAt: number): void {
    if (preload !== undefined || state.disposed) return
    preload = env.setTimeout(
      () => env.whenIdle(() => void loadActions().then((loaded) => loaded.warm())),
      Math.max(0, dueAt - env.now() - PRELOAD_LEAD_MS),
    )
  }

  function refreshInBackground(): void {
    // The record that is due, taken now: another tab may refresh while this one's code loads, and
    // its refresh must then be adopted, not repeated. A failure is in the snapshot already.
    const seen = state.record
    loadActions()
      .then((loaded) => loaded.refresh({ force: false, seen }))
      .catch(() => {})
  }

  function expireInBackground(): void {
    expire().catch(() => {})
  }

  async function expire(): Promise<void> {
    const record = state.record
    if (record !== undefined) await (await loadActions()).end('expired', null, record.generation)
  }

  const ready = (async () => {
    const { store: opened, kind } = await deps.opened
    // The worker shares the page's IndexedDB database; a custom or memory store stays in the page.
    useWorker = kind === 'indexeddb' && config.refreshIn === 'worker' && env.refreshWorkerAvailable()
    try {
      dispatch(await loadSession({ config, env, records, tabs, store: opened, storage: kind }))
    } catch (error) {
      const failure = isAuthError(error) ? error : new AuthError('storage_error', String(error), { cause: error })
      dispatch({ type: 'loaded', record: undefined, storage: kind, error: failure })
    }
    if (!state.disposed) stopFollowing = followTabs({ tabs, records, dispatch })
    void settleRefreshInFlight()
    return opened
  })()

  /**
   * A refresh another tab or the refresh worker holds the lock for may be about to replace the
   * record just loaded (the page reloaded in the middle of one): wait for it, then read again.
   * Costs nothing when no refresh is running, the usual case.
   */
  async function settleRefreshInFlight(): Promise<void> {
    const locks = await env.locks?.query?.().catch(() => undefined)
    if (state.record === undefined || !locks?.held?.some((lock) => lock.name === config.sessionName)) return
    await tabs.withLock(async () => void (await reload()))
  }

  async function reload(): Promise<SessionRecord | undefined> {
    const stored = await records.read().catch(() => undefined)
    if (stored?.kind === 'record') dispatch({ type: 'updated', record: stored.record })
    return state.record
  }

  /** `decided`: the record the caller found due (or `undefined` before the session was loaded). */
  async function slowAccessToken(options: RefreshOptions, decided: SessionRecord | undefined): Promise<string> {
    await ready
    const record = state.record
    if (record === undefined) throw new AuthError('not_signed_in', 'Nobody is signed in; call signIn() first.')
    if (record.tokens.refreshToken === undefined) {
      const own = tokensFor(record, options.resource)
      if (own !== undefined && own.expiresAt > env.now()) return own.accessToken
      if (options.resource === undefined) await expire()
      throw new AuthError(
        'not_signed_in',
        'The session expired and the provider issued no refresh token; sign in again.',
      )
    }
    try {
      // Compared, inside the lock, with the record found due rather than the one held by then: a
      // refresh another tab made while this tab's code was loading is adopted, not repeated.
      const seen = decided ?? record
      const next = tokensFor(await (await loadActions()).refresh({ ...options, seen }), options.resource)
      if (next !== undefined && next.expiresAt > env.now()) return next.accessToken
      throw state.error ?? new AuthError('not_signed_in', 'The access token expired and could not be refreshed yet.')
    } catch (error) {
      // A failed refresh that kept the session still leaves a token that is valid for a while.
      const kept = state.record && tokensFor(state.record, options.resource)
      if (!options.force && kept !== undefined && kept.expiresAt > env.now()) return kept.accessToken
      throw error
    }
  }

  return {
    snapshots,
    ready,
    current: () => state.record,
    // Not async on purpose: a valid token in memory is handed out without waiting for anything.
    accessToken(options) {
      const record = state.record
      const now = env.now()
      const tokens = record && tokensFor(record, options.resource)
      if (record !== undefined && tokens !== undefined && !options.force) {
        const { failure } = record
        if (failure === undefined && now < refreshDueAt(tokens, config.refreshLeewaySeconds)) {
          return Promise.resolve(tokens.accessToken)
        }
        // While refreshes fail, every tab waits for the shared retry time instead of asking again.
        if (failure !== undefined && now < failure.retryAt) {
          return tokens.expiresAt > now
            ? Promise.resolve(tokens.accessToken)
            : Promise.reject(state.error ?? new AuthError(failure.code, failure.message))
        }
      }
      return slowAccessToken(options, record)
    },
    async reload() {
      await ready
      return reload()
    },
    refreshIn: () => (useWorker && loadedActions?.inWorker !== false ? 'worker' : 'page'),
    async commitSignIn(signIn) {
      await ready
      await (await loadActions()).commitSignIn(signIn)
    },
    async signOut() {
      await ready
      return (await loadActions()).signOut()
    },
    async end(reason, error) {
      const record = state.record
      if (record !== undefined) await (await loadActions()).end(reason, error, record.generation)
    },
    nextRefreshAt: () => scheduler.dueAt,
    dispose() {
      dispatch({ type: 'disposed' })
      scheduler.dispose()
      if (preload !== undefined) env.clearTimeout(preload)
      stopFollowing()
      tabs.close()
    },
  }
}

/** A store whose every call waits for the store to be opened. */
function lazyStore(opened: Promise<{ store: KeyValueStore }>): KeyValueStore {
  const store = opened.then((result) => result.store)
  return {
    get: async (key) => (await store).get(key),
    set: async (key, value) => (await store).set(key, value),
    del: async (key) => (await store).del(key),
    replace: async (key, value) => (await store).replace(key, value),
    keys: async () => (await store).keys(),
  }
}

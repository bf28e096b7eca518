import type { AuthConfig, ResolvedConfig } from './config.js'
import type { TabSync } from './cross-tab.js'
import { randomId, type AuthEnvironment } from './environment.js'
import { AuthError, isAuthError } from './errors.js'
import type { Protocol } from './protocol.js'
import { createRecordStore } from './record-store.js'
import { createRefresher, type RefreshOptions, type Refresher } from './refresher.js'
import { createWorkerRefresher } from './worker-refresher.js'
import { createScheduler } from './scheduler.js'
import {
  initialState,
  toSnapshot,
  transition,
  type AuthState,
  type SessionEvent,
  type SignedOutReason,
} from './session-machine.js'
import { createRecord, tokensFor, type SessionRecord } from './session-record.js'
import { asAuthError, createCommits } from './session-commits.js'
import { loadSession } from './session-load.js'
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
  /** Where refreshes run now: in the refresh worker, or in this page. */
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
  const store = deps.opened.then(({ store }) => store)
  const records = createRecordStore(lazyStore(store), config.sessionKey, randomId)
  const snapshots = createSnapshotStore<AuthState>(toSnapshot(initialState))
  const scheduler = createScheduler(env)
  let state = initialState
  let stopFollowing = () => {}

  function dispatch(event: SessionEvent): void {
    const result = transition(state, event, { leewaySeconds: config.refreshLeewaySeconds, random: env.random() })
    state = result.state
    for (const effect of result.effects) {
      if (effect.type === 'publish') snapshots.set(toSnapshot(state))
      else if (effect.type === 'unplan') scheduler.cancel()
      else scheduler.schedule(effect.at, effect.task === 'refresh' ? refreshInBackground : expireInBackground)
    }
  }

  const commits = createCommits({ records, tabs, dispatch, ending: () => state.ending })
  const { persist, end } = commits

  const local = createRefresher({
    config,
    env,
    tabs,
    records,
    protocol: deps.protocol,
    seen: () => state.record,
    ending: () => state.ending,
    dispatch,
    commits,
  })
  let refresher: Refresher & { readonly inWorker?: boolean } = local

  function refreshInBackground(): void {
    // A failure is in the snapshot already; nobody awaits a background refresh.
    refresher.refresh({ force: false }).catch(() => {})
  }

  function expireInBackground(): void {
    expire().catch(() => {})
  }

  async function expire(): Promise<void> {
    const record = state.record
    if (record === undefined) return
    await tabs.withLock(() => end('expired', null, record.generation))
  }

  const ready = (async () => {
    const { store: opened, kind } = await deps.opened
    // The worker shares the page's IndexedDB database; a custom or memory store stays in the page.
    if (kind === 'indexeddb' && config.refreshIn === 'worker') refresher = workerRefresher() ?? local
    try {
      dispatch(await loadSession({ config, env, records, tabs, store: opened, storage: kind }))
    } catch (error) {
      dispatch({ type: 'loaded', record: undefined, storage: kind, error: asAuthError(error) })
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

  function workerRefresher(): ReturnType<typeof createWorkerRefresher> | undefined {
    const connection = env.openRefreshWorker()
    if (connection === undefined) return undefined
    return createWorkerRefresher({
      connection,
      config: deps.authConfig,
      local,
      seen: () => state.record,
      dispatch,
      reload,
      answerTimeoutMs: config.requestTimeoutMs * 4,
      setTimeout: env.setTimeout,
      clearTimeout: env.clearTimeout,
    })
  }

  async function reload(): Promise<SessionRecord | undefined> {
    const stored = await records.read().catch(() => undefined)
    if (stored?.kind === 'record') dispatch({ type: 'updated', record: stored.record })
    return state.record
  }

  async function slowAccessToken(options: RefreshOptions): Promise<string> {
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
      const next = tokensFor(await refresher.refresh(options), options.resource)
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
      return slowAccessToken(options)
    },
    async reload() {
      await ready
      return reload()
    },
    refreshIn: () => (refresher.inWorker === true ? 'worker' : 'page'),
    async commitSignIn(signIn) {
      await ready
      const record = createRecord({ generation: randomId(), ...signIn })
      await tabs.withLock(async () => {
        dispatch({ type: 'signed-in', record })
        await persist(record)
      })
    },
    async signOut() {
      await ready
      let ended = state.record
      let failure: AuthError | null = null
      dispatch({ type: 'sign-out-started' })
      await tabs.withLock(async () => {
        const found = await records.read().catch(() => undefined)
        if (found?.kind === 'record') ended = found.record
        await records.remove().catch((error: unknown) => void (failure = asAuthError(error)))
      })
      tabs.announce({ type: 'signed-out', generation: ended?.generation, reason: 'signed-out' })
      const revoked = await revoke(ended?.tokens.refreshToken)
      dispatch({ type: 'sign-out-finished', error: failure ?? revoked })
      if (failure) throw failure
      return ended
    },
    async end(reason, error) {
      const record = state.record
      if (record !== undefined) await tabs.withLock(() => end(reason, error, record.generation))
    },
    nextRefreshAt: () => scheduler.dueAt,
    dispose() {
      dispatch({ type: 'disposed' })
      scheduler.dispose()
      stopFollowing()
      tabs.close()
    },
  }

  /** Revokes a refresh token at sign-out; resolves the failure (for the snapshot), or `null`. */
  async function revoke(refreshToken: string | undefined): Promise<AuthError | null> {
    if (refreshToken === undefined) return null
    try {
      await (await deps.protocol()).revoke(refreshToken)
      return null
    } catch (error) {
      return asAuthError(error)
    }
  }
}

/** A store whose every call waits for the store to be opened. */
function lazyStore(opened: Promise<KeyValueStore>): KeyValueStore {
  return {
    get: async (key) => (await opened).get(key),
    set: async (key, value) => (await opened).set(key, value),
    del: async (key) => (await opened).del(key),
    replace: async (key, value) => (await opened).replace(key, value),
    keys: async () => (await opened).keys(),
  }
}

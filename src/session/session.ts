import type { AuthConfig, ResolvedConfig } from '../protocol/config.js'
import type { TabSync } from '../platform/tab-sync.js'
import { randomId, type AuthEnvironment } from '../platform/environment.js'
import { asAuthError, type AuthError } from '../platform/errors.js'
import type { Protocol } from '../protocol/provider.js'
import { createRecordStore } from './record-store.js'
import type { RefreshOptions } from './refresher.js'
import type { SessionActions } from './actions.js'
import { loadSession } from './load.js'
import type { AuthState, SignedOutReason } from './machine.js'
import { createSessionRunner } from './runner.js'
import type { SessionRecord } from './record.js'
import type { SnapshotStore } from '../platform/snapshot-store.js'
import type { KeyValueStore, StorageKind } from '../platform/storage.js'
import { followTabs, type SessionMessage } from './tab-follower.js'
import type { TokenSet, UserClaims } from '../protocol/token-set.js'
import { createTokenGetter } from './token-getter.js'

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
  const runner = createSessionRunner({
    config,
    env,
    tasks: {
      refresh() {
        // The record that is due, taken now: another tab may refresh while this one's code loads,
        // and its refresh must then be adopted, not repeated. A failure is in the snapshot already.
        const seen = state().record
        void withActions((loaded) => loaded.refresh({ force: false, seen })).catch(() => {})
      },
      expire: () => void expire().catch(() => {}),
      preload: () => void withActions((loaded) => loaded.warm()),
    },
  })
  const { dispatch } = runner
  const state = runner.state
  /** What changes the session: loaded once, the first time a change is near. */
  const actions = lazily(() =>
    import('./actions.js').then(({ createSessionActions }) =>
      createSessionActions({ ...deps, records, state, dispatch, reload, useWorker: worker }),
    ),
  )
  const withActions = <T>(use: (loaded: SessionActions) => T | Promise<T>) => actions.get().then(use)
  let worker = false
  let stopFollowing = () => {}

  async function expire(): Promise<void> {
    const record = state().record
    if (record !== undefined) await withActions((loaded) => loaded.end('expired', null, record.generation))
  }

  const ready = (async () => {
    const { store: opened, kind } = await deps.opened
    // The worker shares the page's IndexedDB database; a custom or memory store stays in the page.
    worker = kind === 'indexeddb' && config.refreshIn === 'worker' && env.refreshWorkerAvailable()
    try {
      dispatch(await loadSession({ config, env, records, tabs, store: opened, storage: kind }))
    } catch (error) {
      dispatch({ type: 'loaded', record: undefined, storage: kind, error: asAuthError(error, 'storage_error') })
    }
    if (!state().disposed) stopFollowing = followTabs({ tabs, records, dispatch })
    void settleRefreshInFlight()
    // What changes the session (no protocol in it) loads in idle time, so a change never waits for
    // its code; the protocol itself loads shortly before a refresh (see the runner's preload).
    env.whenIdle(() => actions.get())
    return opened
  })()

  /**
   * A refresh another tab or the refresh worker holds the lock for may be about to replace the
   * record just loaded (the page reloaded in the middle of one): wait for it, then read again.
   * Costs nothing when no refresh is running, the usual case.
   */
  async function settleRefreshInFlight(): Promise<void> {
    const locks = await env.locks?.query?.().catch(() => undefined)
    if (state().record === undefined || !locks?.held?.some((lock) => lock.name === config.sessionName)) return
    await tabs.withLock(async () => void (await reload()))
  }

  async function reload(): Promise<SessionRecord | undefined> {
    const stored = await records.read().catch(() => undefined)
    if (stored?.kind === 'record') dispatch({ type: 'updated', record: stored.record })
    return state().record
  }

  return {
    snapshots: runner.snapshots,
    ready,
    current: () => state().record,
    accessToken: createTokenGetter({
      config,
      env,
      state,
      ready,
      refresh: (options) => withActions((loaded) => loaded.refresh(options)),
      expire,
    }),
    async reload() {
      await ready
      return reload()
    },
    refreshIn: () => (worker && actions.value?.inWorker !== false ? 'worker' : 'page'),
    async commitSignIn(signIn) {
      await ready
      await withActions((loaded) => loaded.commitSignIn(signIn))
    },
    async signOut() {
      await ready
      return withActions((loaded) => loaded.signOut())
    },
    async end(reason, error) {
      const record = state().record
      if (record !== undefined) await withActions((loaded) => loaded.end(reason, error, record.generation))
    },
    nextRefreshAt: runner.nextRefreshAt,
    dispose() {
      dispatch({ type: 'disposed' })
      runner.dispose()
      actions.value?.dispose()
      stopFollowing()
      tabs.close()
    },
  }
}

/** `load`, run once, on the first `get()`; `value` once it resolved. */
function lazily<T>(load: () => Promise<T>): { get(): Promise<T>; readonly value: T | undefined } {
  let loading: Promise<T> | undefined
  let value: T | undefined
  return {
    get: () => (loading ??= load().then((loaded) => (value = loaded))),
    get value() {
      return value
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

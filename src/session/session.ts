/**
 * The session of one client in one tab, and its one owner (TanStack query-core's `Query`): it holds
 * the state, and `#dispatch` — the only caller of the machine — computes the next state and
 * performs the effects (publish the snapshot, plan the one timer). Everything else here turns
 * what happens (a load, a message from another tab, a refresh's outcome, a sign-in, a sign-out)
 * into events. The refresh itself is the transaction in `refresh.ts`, whose code loads when a
 * refresh comes near; signing out never waits for code.
 */
import { refreshPlace, type HostEnvironment, type RefreshPlace } from '../platform/environment.js'
import { asAuthError, notSignedIn, type AuthError } from '../platform/errors.js'
import type { Lazy } from '../platform/lazy.js'
import { createScheduler, type Scheduler } from '../platform/scheduler.js'
import { createSnapshotStore, type SnapshotStore } from '../platform/snapshot-store.js'
import { deferredStore, type KeyValueStore, type StorageKind } from '../platform/storage.js'
import type { TabSync } from '../platform/tab-sync.js'
import type { ResolvedConfig } from '../protocol/config.js'
import type { Protocol } from '../protocol/provider.js'
import type { TokenSet, UserClaims } from '../protocol/token-set.js'
import { endSession, removeSession } from './ending.js'
import { loadSession, refreshInFlight } from './load.js'
import {
  initialState,
  toSnapshot,
  transition,
  type AuthState,
  type SessionEvent,
  type SessionState,
  type SignedOutReason,
} from './machine.js'
import { newsOf, updateMessage, type SessionMessage } from './messages.js'
import { createRecordStore, type RecordStore } from './record-store.js'
import { createRecord, type SessionRecord } from './record.js'
import type { Settlement } from './outcome.js'
import { createRefreshCode, type RefreshCode, type Refresher } from './refresh-code.js'
import type { RefreshContext } from './refresh.js'
import { accessToken, freshToken, type TokenRequest, type TokenSource } from './token-getter.js'
import { sessionLapsed, type Plan } from './token-status.js'

export type { Refresher } from './refresh-code.js'

/** What the owner is made of; `client.ts` composes it. */
export interface SessionDeps {
  config: ResolvedConfig
  env: HostEnvironment
  opened: Promise<{ store: KeyValueStore; kind: StorageKind }>
  tabs: TabSync<SessionMessage>
  provider: Lazy<Protocol>
  /** Loads the refresh code and builds this tab's refresher over `context`. */
  loadRefresher(context: RefreshContext, options: { place: RefreshPlace }): Promise<Refresher>
  newGeneration(): string
}

export class Session {
  readonly snapshots: SnapshotStore<AuthState>
  /** Resolves once the stored session is loaded; never rejects. */
  readonly ready: Promise<void>
  readonly #deps: SessionDeps
  readonly #records: RecordStore
  readonly #scheduler: Scheduler
  readonly #refresher: RefreshCode
  readonly #flights = new Map<string, Promise<SessionRecord>>()
  readonly #tokens: TokenSource
  #state: SessionState = initialState
  #disposed = false
  /** Where this tab's refreshes are to run, decided once its store is open. */
  #place: RefreshPlace = 'page'
  #stopFollowing = () => {}

  constructor(deps: SessionDeps) {
    this.#deps = deps
    const store = deps.opened.then(({ store }) => store)
    this.#records = createRecordStore(deferredStore(store), deps.config.sessionKey, deps.newGeneration)
    this.snapshots = createSnapshotStore(toSnapshot(initialState))
    this.#scheduler = createScheduler(deps.env)
    this.#refresher = createRefreshCode(
      () => deps.loadRefresher(this.#refreshContext(), { place: this.#place }),
      deps.env,
    )
    this.ready = this.#load()
    this.#tokens = {
      ...{ ready: this.ready, snapshots: this.snapshots, now: deps.env.now },
      leewaySeconds: deps.config.refreshLeewaySeconds,
      current: () => this.current(),
      refresh: (request) => this.refresh(request),
      expire: () => this.expire(),
    }
  }

  /** The record this tab holds while signed in (not while signing out). */
  current(): SessionRecord | undefined {
    const state = this.#state
    return state.status === 'signed-in' && state.phase !== 'signing-out' ? state.record : undefined
  }

  /**
   * A valid access token (for one API with `resource`): the one in memory while it is outside the
   * refresh leeway, handed out without awaiting anything (the hot path); else a refresh's.
   *
   * @throws AuthError `not_signed_in`, or the failure of a refresh once the token it holds expired.
   */
  accessToken(request: TokenRequest): Promise<string> {
    return accessToken(this.#tokens, request)
  }

  /** The token in memory for `resource` when it can go out as it is, else `undefined`: the hot path. */
  freshToken(resource: string | undefined): string | undefined {
    return freshToken(this.#tokens, resource)
  }

  /**
   * Refreshes once for every caller in this tab (per resource), and once for every tab (the
   * transaction's Web Lock); `held` is the record the refresh starts from (default: this tab's).
   * Resolves the record afterwards.
   *
   * @throws AuthError `not_signed_in`; the failure of a refresh that keeps the session (it is then
   *   in the snapshot too); the failure that ended it; `chunk_load_failed`.
   */
  refresh(request: TokenRequest & { held?: SessionRecord | undefined }): Promise<SessionRecord> {
    const key = request.resource ?? ''
    let flight = this.#flights.get(key)
    if (flight === undefined) {
      flight = this.#refreshOnce(request).finally(() => this.#flights.delete(key))
      this.#flights.set(key, flight)
    }
    return flight
  }

  /** Reads the stored record into this tab (after another window committed it); resolves what it holds then. */
  async reload(): Promise<SessionRecord | undefined> {
    await this.ready
    const stored = await this.#records.read().catch(() => undefined)
    if (stored?.kind === 'record') this.#dispatch({ type: 'adopted', record: stored.record })
    return this.current()
  }

  /** Makes a completed sign-in the session (a new generation), in this tab and every other. */
  async commitSignIn(signIn: {
    tokens: TokenSet
    claims: UserClaims
    dpopKey: CryptoKeyPair | undefined
  }): Promise<void> {
    await this.ready
    const record = createRecord({ generation: this.#deps.newGeneration(), ...signIn })
    await this.#deps.tabs.withLock(async () => {
      this.#dispatch({ type: 'signed-in', record })
      await this.#records.write(record).catch((error: unknown) => this.#storageFailed(error))
      this.#deps.tabs.announce(updateMessage(record, this.#records.unpersisted === record))
    })
  }

  /**
   * Signs out: at once in this tab, then — inside the lock, so no refresh in flight can bring it
   * back — in the store and every other tab; none of it waits for code. Then, best effort, revokes
   * the refresh token (a failure lands in the snapshot). Resolves with the record that was ended,
   * for the end-session redirect.
   *
   * @throws AuthError `storage_error` when the store cannot delete it (the session is still ended in memory and in the other tabs).
   */
  async signOut(): Promise<SessionRecord | undefined> {
    await this.ready
    const held = this.current()
    this.#dispatch({ type: 'sign-out-started' })
    const { ended, error } = await removeSession(this.#records, this.#deps.tabs, held)
    const revoked = error ?? (await this.#revoke(ended?.tokens.refreshToken))
    this.#dispatch({ type: 'sign-out-finished', error: revoked })
    if (error) throw error
    return ended
  }

  /** Ends the session for `reason` (the DPoP key it is bound to is gone, …), in every tab. */
  async end(reason: SignedOutReason, error: AuthError | null): Promise<void> {
    const record = this.current()
    if (record === undefined) return
    const { generation } = record
    await this.#deps.tabs.withLock(() => endSession(this.#records, this.#deps.tabs, { reason, generation }))
    this.#dispatch({ type: 'ended', reason, error, generation })
  }

  /** When the next refresh (or expiry) is planned, epoch ms. */
  nextRefreshAt(): number | undefined {
    return this.#scheduler.dueAt
  }

  /** Where refreshes run: in the refresh worker (a SharedWorker or a service worker), or in this page. */
  refreshIn(): RefreshPlace {
    return this.#refresher.value?.where ?? this.#place
  }

  dispose(): void {
    this.#disposed = true
    this.#scheduler.dispose()
    this.#refresher.dispose()
    this.#stopFollowing()
    this.#deps.tabs.close()
  }

  #dispatch(event: SessionEvent): void {
    if (this.#disposed) return
    const { config, env } = this.#deps
    const result = transition(this.#state, event, { leewaySeconds: config.refreshLeewaySeconds, random: env.random() })
    this.#state = result.state
    for (const effect of result.effects) {
      if (effect.type === 'publish') this.#publish()
      else if (effect.type === 'unplan') this.#scheduler.cancel()
      else this.#plan(effect)
    }
  }

  #publish(): void {
    const next = toSnapshot(this.#state)
    const current = this.snapshots.get()
    const same = (Object.keys(next) as Array<keyof AuthState>).every((name) => next[name] === current[name])
    if (!same) this.snapshots.set(next)
  }

  #plan(plan: Plan): void {
    // Background work: a failure is in the snapshot already.
    const task = plan.task === 'refresh' ? () => this.refresh({ force: false }) : () => this.expire()
    this.#scheduler.schedule(plan.at, () => void task().catch(() => {}))
    if (plan.task === 'refresh') this.#refresher.planned(plan.at)
  }

  async #load(): Promise<void> {
    const { config, env, tabs } = this.#deps
    const { store, kind } = await this.#deps.opened
    // The worker shares the page's IndexedDB database; a custom or memory store stays in the page.
    this.#place = kind === 'indexeddb' && config.refreshIn === 'worker' ? refreshPlace(env) : 'page'
    const records = this.#records
    try {
      this.#dispatch(await loadSession({ config, env, records, tabs, store, storage: kind }))
    } catch (error) {
      this.#dispatch({ type: 'loaded', record: undefined, storage: kind, error: asAuthError(error, 'storage_error') })
    }
    if (this.#disposed) return
    this.#stopFollowing = tabs.listen((message) => this.#receive(message))
    // The page may have reloaded in the middle of a refresh another tab or the worker still holds
    // the lock for: the record just loaded is then about to be replaced. Wait for it, read again.
    if (this.current() === undefined) return
    void refreshInFlight(env, config.sessionName).then(
      (inFlight) => inFlight && tabs.withLock(async () => void (await this.reload())),
    )
  }

  /**
   * Follows the other tabs: an update is read from the store (the announcement only says that
   * something changed, unless the store refused it); an end there is an end here.
   */
  #receive(message: SessionMessage): void {
    const news = newsOf(message)
    if (news.kind === 'ended') return this.#dispatch({ type: 'ended', error: null, ...news })
    if (news.kind === 'record') {
      this.#records.accept(news.record)
      return this.#dispatch({ type: 'adopted', record: news.record })
    }
    if (news.kind !== 'changed') return
    void this.#records.read().then(
      (stored) => {
        if (stored.kind === 'record') this.#dispatch({ type: 'adopted', record: stored.record })
        else if (stored.kind === 'empty')
          this.#dispatch({ type: 'ended', reason: 'other-tab', error: null, generation: news.generation })
      },
      // The store failed: this tab keeps what it has and tries again at its next refresh.
      () => {},
    )
  }

  async #refreshOnce(request: TokenRequest & { held?: SessionRecord | undefined }): Promise<SessionRecord> {
    await this.ready
    const held = request.held ?? this.current()
    if (held === undefined) throw notSignedIn()
    const own = request.resource === undefined
    if (own) this.#dispatch({ type: 'refresh-started' })
    let settlement: Settlement
    try {
      const refresher = await this.#refresher.get()
      settlement = await refresher.run({ held, force: request.force, resource: request.resource }, own)
    } catch (failure) {
      const error = asAuthError(failure)
      if (error.code === 'chunk_load_failed') {
        // The session waits, with the error in the snapshot, and tries again later.
        this.#dispatch({
          type: 'code-unavailable',
          error,
          retryAt: this.#deps.env.now() + this.#refresher.retryDelay(),
        })
      } else if (own) this.#dispatch({ type: 'refresh-finished', record: undefined, error })
      throw error
    }
    const { events, result } = settlement
    for (const event of events) this.#dispatch(event)
    if ('error' in result) throw result.error
    return result.record
  }

  /** Ends a session whose token expired without a refresh token. */
  async expire(): Promise<void> {
    const record = this.current()
    if (record !== undefined && sessionLapsed(record, this.#deps.env.now())) await this.end('expired', null)
  }

  /** Revokes a refresh token at sign-out, best effort; resolves the failure (for the snapshot), or `null`. */
  async #revoke(refreshToken: string | undefined): Promise<AuthError | null> {
    if (refreshToken === undefined) return null
    try {
      await (await this.#deps.provider.get()).revoke(refreshToken)
      return null
    } catch (error) {
      return asAuthError(error)
    }
  }

  #storageFailed(error: unknown): void {
    this.#dispatch({ type: 'storage-failed', error: asAuthError(error, 'storage_error') })
  }

  #refreshContext(): RefreshContext {
    const { config, env, tabs, provider } = this.#deps
    return { config, env, records: this.#records, tabs, provider: () => provider.get(), unloading: env.unloading }
  }
}

/**
 * Everything that changes the session from this page: refreshes (here, or in the refresh worker),
 * a completed sign-in, a sign-out, an end. None of it is needed to load a session and hand out a
 * valid token, so it loads when the first change is near (see `session.ts`).
 */
import type { AuthConfig, ResolvedConfig } from '../protocol/config.js'
import type { TabSync } from '../platform/tab-sync.js'
import { randomId, type AuthEnvironment } from '../platform/environment.js'
import { asAuthError, type AuthError } from '../platform/errors.js'
import type { Protocol } from '../protocol/provider.js'
import type { RecordStore } from './record-store.js'
import { createRefresher, type RefreshOptions } from './refresher.js'
import { createCommits } from './commits.js'
import type { SessionEvent, SessionState, SignedOutReason } from './machine.js'
import { createRecord, type SessionRecord } from './record.js'
import type { SessionMessage } from './tab-follower.js'
import type { TokenSet, UserClaims } from '../protocol/token-set.js'
import { createWorkerRefresher } from '../worker/page.js'

export interface SessionActions {
  refresh(options: RefreshOptions): Promise<SessionRecord>
  /** Whether refreshes go to the refresh worker (it may turn out not to load: then `false`). */
  readonly inWorker: boolean
  /** Gets the next refresh's code ready: the refresh worker started, or the protocol loaded. */
  warm(): void
  commitSignIn(signIn: { tokens: TokenSet; claims: UserClaims; dpopKey: CryptoKeyPair | undefined }): Promise<void>
  signOut(): Promise<SessionRecord | undefined>
  /** Ends the session `generation` names, inside the lock, in every tab. */
  end(reason: SignedOutReason, error: AuthError | null, generation: string): Promise<void>
  /** Leaves the refresh worker. */
  dispose(): void
}

export function createSessionActions(deps: {
  config: ResolvedConfig
  authConfig: AuthConfig
  env: AuthEnvironment
  tabs: TabSync<SessionMessage>
  records: RecordStore
  protocol(): Promise<Protocol>
  state(): SessionState
  dispatch(event: SessionEvent): void
  reload(): Promise<SessionRecord | undefined>
  /** Refreshes go to the refresh worker (IndexedDB store, `refreshIn: 'worker'`, a browser that keeps it alive). */
  useWorker: boolean
}): SessionActions {
  const { config, env, tabs, records, dispatch } = deps
  const ending = () => deps.state().ending
  const commits = createCommits({ records, tabs, dispatch, ending })
  const local = createRefresher({
    ...{ config, env, tabs, records, dispatch, commits },
    protocol: deps.protocol,
    seen: () => deps.state().record,
    ending,
  })
  // The worker starts with the first refresh (or the preload just before it), not with the page:
  // its script carries the protocol, which a page load does not need.
  let worker: ReturnType<typeof createWorkerRefresher> | undefined
  let workerOpened = false
  function refresher() {
    if (!workerOpened && deps.useWorker) {
      workerOpened = true
      const connection = env.openRefreshWorker()
      worker =
        connection &&
        createWorkerRefresher({
          ...{ connection, local, dispatch, reload: deps.reload },
          config: deps.authConfig,
          seen: () => deps.state().record,
          answerTimeoutMs: config.requestTimeoutMs * 4,
          setTimeout: env.setTimeout,
          clearTimeout: env.clearTimeout,
        })
    }
    return worker ?? local
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

  return {
    refresh: (options) => refresher().refresh(options),
    get inWorker() {
      return deps.useWorker && (!workerOpened || worker?.inWorker === true)
    },
    warm() {
      if (refresher() === local) void deps.protocol().catch(() => {})
    },
    async commitSignIn(signIn) {
      const record = createRecord({ generation: randomId(), ...signIn })
      await tabs.withLock(async () => {
        dispatch({ type: 'signed-in', record })
        await commits.persist(record)
      })
    },
    async signOut() {
      let ended = deps.state().record
      let failure: AuthError | null = null
      dispatch({ type: 'sign-out-started' })
      // Inside the lock: a refresh in flight finishes first, and cannot bring the session back.
      await tabs.withLock(async () => {
        const found = await records.read().catch(() => undefined)
        if (found?.kind === 'record') ended = found.record
        await records.remove().catch((error: unknown) => void (failure = asAuthError(error, 'storage_error')))
      })
      tabs.announce({ type: 'signed-out', generation: ended?.generation, reason: 'signed-out' })
      const revoked = await revoke(ended?.tokens.refreshToken)
      dispatch({ type: 'sign-out-finished', error: failure ?? revoked })
      if (failure) throw failure
      return ended
    },
    end: (reason, error, generation) => tabs.withLock(() => commits.end(reason, error, generation)),
    dispose: () => worker?.close(),
  }
}

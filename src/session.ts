import type * as oauth from 'oauth4webapi'
import type { ResolvedConfig } from './config.js'
import { createTabSync } from './cross-tab.js'
import type { AuthEnvironment } from './environment.js'
import { AuthError, isAuthError } from './errors.js'
import { isRefreshTokenRejected, refreshGrant } from './refresh.js'
import { createScheduler } from './scheduler.js'
import { createSnapshotStore } from './state.js'
import type { ProofKey } from './proof-key.js'
import type { KeyValueStore, StorageKind } from './storage.js'
import { refreshDueAt, tokenSetFromResponse, type TokenSet, type UserClaims } from './token-set.js'
import type { Transport } from './transport.js'

/** Why the user is signed out. */
export type SignedOutReason =
  'signed-out' | 'refresh-rejected' | 'expired' | 'other-tab' | 'subject-changed' | 'dpop-key-lost'

interface StateBase {
  /** Where the session is kept: `memory` means IndexedDB was unavailable and the session ends with the tab. */
  storage: StorageKind | null
  /** The last background failure (a refresh that failed and will be retried, a blocked store), or `null`. */
  error: AuthError | null
}

/** The snapshot `getSnapshot()` returns; a new object on every change, never mutated. */
export type AuthState =
  | (StateBase & { status: 'loading'; user: null; expiresAt: null; reason: null })
  | (StateBase & { status: 'signed-out'; user: null; expiresAt: null; reason: SignedOutReason | null })
  | (StateBase & { status: 'signed-in'; user: UserClaims; expiresAt: number; reason: null })

/** What the store keeps under `session:<issuer>|<clientId>`. */
export interface SessionRecord {
  tokens: TokenSet
  claims: UserClaims
}

/** Retry delays after a failed refresh: 1 s, 2 s, 4 s … capped at 30 s. */
export function backoffDelayMs(attempt: number): number {
  return Math.min(1000 * 2 ** attempt, 30_000)
}

const base = { user: null, expiresAt: null, reason: null, error: null } as const

/**
 * The life of one session in one tab: loading it, publishing snapshots, keeping the access token
 * fresh (proactive timer, lazy refresh, single flight in the tab and across tabs, rotation-safe,
 * backoff on failures) and following what the other tabs do (DESIGN.md §5).
 */
export function createSession(deps: {
  config: ResolvedConfig
  env: AuthEnvironment
  opened: Promise<{ store: KeyValueStore; kind: StorageKind }>
  transport: Transport
  metadata(): Promise<oauth.AuthorizationServer>
  oauthClient(): oauth.Client
  proofKey: ProofKey
}) {
  const { config, env, transport, proofKey } = deps
  const state = createSnapshotStore<AuthState>({ ...base, status: 'loading', storage: null })
  const scheduler = createScheduler(env)
  const tabs = createTabSync(env, config.sessionName)
  let record: SessionRecord | undefined
  let refreshing: Promise<SessionRecord> | undefined
  let failures = 0
  let storage: StorageKind | null = null
  let disposed = false
  function publish(
    next: SessionRecord | undefined,
    reason: SignedOutReason | null,
    error: AuthError | null = null,
  ): void {
    record = next
    state.set(
      next
        ? { ...base, status: 'signed-in', user: next.claims, expiresAt: next.tokens.expiresAt, storage, error }
        : { ...base, status: 'signed-out', reason, storage, error },
    )
    plan()
  }

  /** Arms the one timer: refresh ahead of expiry, or end a session that cannot be refreshed. */
  function plan(): void {
    // A client disposed while its stored session was still loading must not arm a timer.
    if (record === undefined || disposed) return scheduler.cancel()
    const { tokens } = record
    if (tokens.refreshToken === undefined) {
      scheduler.schedule(tokens.expiresAt, () => void end('expired'))
      return
    }
    // A little jitter, always earlier, so tabs that loaded together do not all wake at once.
    const jitter = Math.random() * Math.min(5_000, (tokens.expiresAt - tokens.issuedAt) / 20)
    scheduler.schedule(refreshDueAt(tokens, config.refreshLeewaySeconds) - jitter, () => void refresh().catch(() => {}))
  }

  const ready = (async () => {
    const { store, kind } = await deps.opened
    storage = kind
    let stored: SessionRecord | undefined
    try {
      stored = await store.get<SessionRecord>(config.sessionKey)
    } catch (cause) {
      publish(
        undefined,
        null,
        new AuthError('storage_error', 'The stored session could not be read; sign in again.', { cause }),
      )
      return store
    }
    if (stored && stored.tokens.refreshToken === undefined && stored.tokens.expiresAt <= env.now()) {
      await store.del(config.sessionKey).catch(() => {})
      publish(undefined, 'expired')
    } else {
      publish(stored, null)
    }
    return store
  })()

  const stopListening = tabs.listen((message) => {
    if (message.type === 'signed-out') {
      proofKey.reset()
      return publish(undefined, 'other-tab')
    }
    void ready.then(async (store) => {
      const stored = await store.get<SessionRecord>(config.sessionKey).catch(() => undefined)
      publish(stored, stored ? null : 'other-tab')
    })
  })

  async function save(next: SessionRecord): Promise<void> {
    const store = await ready
    try {
      await store.set(config.sessionKey, next)
    } catch (cause) {
      throw new AuthError('storage_error', 'The new session could not be saved; sign in again.', { cause })
    }
    failures = 0
    publish(next, null)
    tabs.announce({ type: 'session-updated', from: tabs.tabId })
  }

  async function end(reason: SignedOutReason, error: AuthError | null = null): Promise<void> {
    const store = await ready
    await store.del(config.sessionKey).catch(() => {})
    await proofKey.forget()
    publish(undefined, reason, error)
    tabs.announce({ type: 'signed-out', from: tabs.tabId, reason })
  }

  /** The refresh itself, run while holding the session's Web Lock. */
  async function refreshLocked(seenAccessToken: string | undefined, forced: boolean): Promise<SessionRecord> {
    const store = await ready
    const stored = await store.get<SessionRecord>(config.sessionKey).catch(() => record)
    if (stored === undefined) {
      publish(undefined, 'other-tab')
      throw new AuthError('not_signed_in', 'The session was ended in another tab; sign in again.')
    }
    // Inside the lock the store is the truth: another tab may have refreshed while this one
    // waited for the lock. Its tokens are as good as ours would be, and asking again would
    // present a refresh token the provider already rotated.
    if (
      stored.tokens.accessToken !== seenAccessToken &&
      (forced || env.now() < refreshDueAt(stored.tokens, config.refreshLeewaySeconds))
    ) {
      publish(stored, null)
      return stored
    }
    let refreshToken = stored.tokens.refreshToken
    if (refreshToken === undefined) {
      throw new AuthError(
        'not_signed_in',
        'The session cannot be refreshed: the provider issued no refresh token (ask for the offline_access scope).',
      )
    }
    const as = await deps.metadata()
    const proof = await proofKey.handle()
    for (let attempt = 0; ; attempt++) {
      try {
        const { response, claims } = await refreshGrant(
          as,
          deps.oauthClient(),
          refreshToken,
          stored.claims,
          transport,
          proof,
        )
        const next = {
          tokens: tokenSetFromResponse(response, env.now(), stored.tokens),
          claims: claims ?? stored.claims,
        }
        await save(next)
        return next
      } catch (error) {
        // A tab without Web Locks may have rotated the token meanwhile: read once more and retry
        // with the newer one before giving the session up.
        const latest =
          isRefreshTokenRejected(error) && attempt === 0
            ? await store.get<SessionRecord>(config.sessionKey).catch(() => undefined)
            : undefined
        if (latest?.tokens.refreshToken !== undefined && latest.tokens.refreshToken !== refreshToken) {
          refreshToken = latest.tokens.refreshToken
          continue
        }
        throw error
      }
    }
  }

  /** Single flight in this tab; the Web Lock makes it single flight across tabs. */
  function refresh(forced = false): Promise<SessionRecord> {
    refreshing ??= (async () => {
      const seen = record?.tokens.accessToken
      try {
        return await tabs.withLock(() => refreshLocked(seen, forced))
      } catch (error) {
        const authError = isAuthError(error)
          ? error
          : new AuthError('invalid_response', String(error), { cause: error })
        if (isRefreshTokenRejected(authError)) await end('refresh-rejected', authError)
        else if (authError.code === 'subject_changed') await end('subject-changed', authError)
        else if (authError.code === 'dpop_key_unavailable') await end('dpop-key-lost', authError)
        else if (authError.code !== 'not_signed_in' && record !== undefined) {
          // The provider did not reject the session: keep it, say why in the snapshot, try again later.
          state.set({ ...state.get(), error: authError })
          scheduler.schedule(env.now() + backoffDelayMs(failures++), () => void refresh().catch(() => {}))
        }
        throw authError
      } finally {
        refreshing = undefined
      }
    })()
    return refreshing
  }

  return {
    state,
    ready,
    current: () => record,
    save,
    end,
    refresh,
    /** A valid access token: the in-memory one while it is outside the leeway, else a refresh. */
    async accessToken(forceRefresh: boolean): Promise<string> {
      if (record && !forceRefresh && env.now() < refreshDueAt(record.tokens, config.refreshLeewaySeconds)) {
        return record.tokens.accessToken
      }
      await ready
      if (record === undefined) throw new AuthError('not_signed_in', 'Nobody is signed in; call signIn() first.')
      if (record.tokens.refreshToken !== undefined) {
        try {
          return (await refresh(forceRefresh)).tokens.accessToken
        } catch (error) {
          // A failed refresh that kept the session still leaves a token that is valid for a while.
          if (!forceRefresh && record !== undefined && record.tokens.expiresAt > env.now())
            return record.tokens.accessToken
          throw error
        }
      }
      if (record.tokens.expiresAt > env.now()) return record.tokens.accessToken
      await end('expired')
      throw new AuthError(
        'not_signed_in',
        'The session expired and the provider issued no refresh token; sign in again.',
      )
    },
    /** When the next proactive refresh (or expiry) is due, epoch ms. */
    nextRefreshAt: () => scheduler.dueAt,
    dispose(): void {
      disposed = true
      scheduler.dispose()
      stopListening()
      tabs.close()
    },
  }
}

/** The session controller of one client. */
export type Session = ReturnType<typeof createSession>

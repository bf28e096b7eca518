import type { ResolvedConfig } from '../protocol/config.js'
import type { AuthEnvironment } from '../platform/environment.js'
import { createScheduler } from '../platform/scheduler.js'
import {
  initialState,
  toSnapshot,
  transition,
  type AuthState,
  type SessionEvent,
  type SessionState,
} from './machine.js'
import { createSnapshotStore, type SnapshotStore } from '../platform/snapshot-store.js'

/**
 * Runs the session machine in one tab (TanStack query-core's `#dispatch`): the one place its state
 * lives. `dispatch(event)` computes the next state, then performs the effects — publishes the
 * snapshot, plans the one timer — and asks for the code of a planned refresh shortly before it.
 */
export interface SessionRunner {
  readonly snapshots: SnapshotStore<AuthState>
  state(): SessionState
  dispatch(event: SessionEvent): void
  /** When the planned refresh (or expiry) is due, epoch ms. */
  nextRefreshAt(): number | undefined
  dispose(): void
}

/** What the timers call. */
export interface SessionTasks {
  refresh(): void
  expire(): void
  /** Gets the next refresh's code ready, in idle time. */
  preload(): void
}

/** The code of the next refresh is fetched this long before it is due (in idle time), never on a page load. */
const PRELOAD_LEAD_MS = 30_000

export function createSessionRunner(deps: {
  config: Pick<ResolvedConfig, 'refreshLeewaySeconds'>
  env: AuthEnvironment
  tasks: SessionTasks
}): SessionRunner {
  const { config, env, tasks } = deps
  const snapshots = createSnapshotStore<AuthState>(toSnapshot(initialState))
  const scheduler = createScheduler(env)
  let state = initialState
  let preload: unknown

  function planPreload(dueAt: number): void {
    if (preload !== undefined || state.disposed) return
    const delay = Math.max(0, dueAt - env.now() - PRELOAD_LEAD_MS)
    preload = env.setTimeout(() => env.whenIdle(tasks.preload), delay)
  }

  return {
    snapshots,
    state: () => state,
    dispatch(event) {
      const result = transition(state, event, { leewaySeconds: config.refreshLeewaySeconds, random: env.random() })
      state = result.state
      for (const effect of result.effects) {
        if (effect.type === 'publish') snapshots.set(toSnapshot(state))
        else if (effect.type === 'unplan') scheduler.cancel()
        else scheduler.schedule(effect.at, effect.task === 'refresh' ? tasks.refresh : tasks.expire)
        if (effect.type === 'plan' && effect.task === 'refresh') planPreload(effect.at)
      }
    },
    nextRefreshAt: () => scheduler.dueAt,
    dispose() {
      scheduler.dispose()
      if (preload !== undefined) env.clearTimeout(preload)
    },
  }
}

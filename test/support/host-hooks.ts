import type { AuthEnvironment } from '../../src/index.js'
import type { HostEnvironment } from '../../src/platform/environment.js'

/**
 * The environment's internal hooks (the refresh worker, popups, idle time), which are not part of
 * the public `AuthEnvironment` type, passed where a test gives a client its environment.
 */
export function hostHooks(hooks: Partial<HostEnvironment>): Partial<AuthEnvironment> {
  return hooks
}

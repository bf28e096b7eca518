/**
 * The client's actions as free functions, for framework bindings that hand them out (`useAuth()`):
 * one list of them, kept in step with the `AuthActions` type by the compiler.
 */
import type { AuthActions, AuthClient } from '../client.js'

type ActionName = keyof AuthActions

/** Every action, exactly: the compiler refuses a missing or an unknown name. */
const ACTIONS: Record<ActionName, true> = {
  signIn: true,
  signInWithPopup: true,
  signOut: true,
  refresh: true,
  getAccessToken: true,
  getUserInfo: true,
  fetch: true,
}

/**
 * The actions of `client`, bound to it and safe to destructure. Given a promise of the client (a
 * binding that creates its client in an effect), each call waits for it; a popup opened after that
 * wait may be blocked (`popup_blocked`), since browsers open one only in the task of the user's click.
 */
export function bindAuthActions(client: AuthClient | PromiseLike<AuthClient>): AuthActions {
  const actions: Partial<Record<ActionName, (...args: unknown[]) => Promise<unknown>>> = {}
  for (const name of Object.keys(ACTIONS) as ActionName[]) {
    const invoke = (target: AuthClient, args: unknown[]) =>
      (target[name] as (...values: unknown[]) => Promise<unknown>)(...args)
    actions[name] = (...args) =>
      isClient(client) ? invoke(client, args) : Promise.resolve(client).then((c) => invoke(c, args))
  }
  return actions as AuthActions
}

function isClient(value: AuthClient | PromiseLike<AuthClient>): value is AuthClient {
  return typeof (value as Partial<AuthClient>).getSnapshot === 'function'
}

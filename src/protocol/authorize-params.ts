import { AuthError } from '../platform/errors.js'

/**
 * Authorization request parameters an app may not set, with what to do instead: the ones the
 * library sets itself for every sign-in (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1), and
 * the ones that would move the response where the callback never looks (`response_mode`) or
 * replace the request the library built (RFC 9101 request objects, RFC 9126 `request_uri`,
 * OIDC `registration`, RFC 9449 §10 `dpop_jkt`).
 */
const REFUSED_AUTHORIZE_PARAMS: ReadonlyMap<string, string> = new Map([
  ['response_type', 'spa-auth always uses the authorization code flow (response_type=code)'],
  ['client_id', 'set clientId in the configuration instead'],
  ['redirect_uri', 'set redirectUri in the configuration instead'],
  ['state', 'spa-auth makes a fresh state for every sign-in'],
  ['nonce', 'spa-auth makes a fresh nonce for every sign-in'],
  ['code_challenge', 'spa-auth makes a fresh PKCE S256 challenge for every sign-in'],
  ['code_challenge_method', 'spa-auth always uses PKCE with S256'],
  [
    'response_mode',
    'the callback is read from the query string (the default response mode of the code flow), so a response sent any other way would never be recognised; remove it',
  ],
  ['request', 'request objects are not supported; pass the parameters themselves in authorizeParams'],
  [
    'request_uri',
    'pushed authorization requests and request objects by reference are not supported; pass the parameters themselves in authorizeParams',
  ],
  ['registration', 'dynamic registration is not supported; register the client at the provider'],
  ['dpop_jkt', 'with dpop: true spa-auth binds the sign-in to its own key; remove it'],
])

/**
 * Checks extra authorization request parameters and returns a copy: a plain object whose values
 * are strings, with no name the library owns or that changes where or how the response comes back.
 * `resource` (RFC 8707) may be repeated by the standard; it is a single string here for now — an
 * array form would be a new, additive option.
 *
 * @param where How the message names the object, e.g. `config.authorizeParams`.
 * @param alsoRefused Further names refused here, with what to do instead.
 * @throws AuthError `invalid_config` naming the parameter and what to use instead.
 */
export function checkAuthorizeParams(
  params: unknown,
  where: string,
  alsoRefused: Readonly<Record<string, string>> = {},
): Readonly<Record<string, string>> {
  if (params === undefined) return {}
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new AuthError('invalid_config', `${where} must be an object of parameter names to string values.`)
  }
  const checked: Record<string, string> = {}
  for (const [name, value] of Object.entries(params)) {
    const instead =
      REFUSED_AUTHORIZE_PARAMS.get(name) ?? (Object.hasOwn(alsoRefused, name) ? alsoRefused[name] : undefined)
    if (instead !== undefined) throw new AuthError('invalid_config', `${where}.${name} is not allowed: ${instead}.`)
    if (typeof value !== 'string') {
      throw new AuthError('invalid_config', `${where}.${name} must be a string, not ${kindOf(value)}.`)
    }
    checked[name] = value
  }
  return checked
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`
}

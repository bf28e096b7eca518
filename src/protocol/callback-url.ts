/**
 * Where an authorization response sits in an address: recognising the redirect URI with a response
 * on it, and the address without it. Plain URL work, needed on every page load before any
 * protocol code is.
 */

/** Authorization response parameters that must leave the address bar once read. */
const RESPONSE_PARAMS = ['code', 'state', 'iss', 'session_state', 'error', 'error_description', 'error_uri']

/**
 * Returns the authorization response parameters when `url` is a callback to `redirectUri` (same
 * origin and path, with `state` and a `code` or an `error`), else `undefined`.
 */
export function readCallback(url: string, redirectUri: string): URLSearchParams | undefined {
  const current = new URL(url)
  const expected = new URL(redirectUri)
  if (current.origin !== expected.origin || current.pathname !== expected.pathname) return undefined
  const params = current.searchParams
  return params.has('state') && (params.has('code') || params.has('error')) ? params : undefined
}

/** `url` without the authorization response parameters. */
export function withoutCallbackParams(url: string): string {
  const clean = new URL(url)
  for (const name of RESPONSE_PARAMS) clean.searchParams.delete(name)
  return clean.href
}

/**
 * Where an authorization response sits in an address: recognising the redirect URI with a response
 * on it, and the address without it. Plain URL work, needed on every page load before any
 * protocol code is.
 */

/** Authorization response parameters that must leave the address bar once read. */
const RESPONSE_PARAMS = ['code', 'state', 'iss', 'session_state', 'error', 'error_description', 'error_uri']

/**
 * The absolute address `url` names: as it is, or a path (a router's `route.fullPath`) resolved
 * against the page — or against `redirectUri` where the page has no address (a server). Without
 * `url`, the page's address. `undefined` for anything that is no address.
 */
export function absoluteUrl(url: unknown, redirectUri: string, page: () => string): string | undefined {
  const current = attempt(page)
  if (url === undefined) return current
  if (typeof url !== 'string' || url === '') return undefined
  for (const base of [current, redirectUri]) {
    const resolved = attempt(() => new URL(url, base).href)
    if (resolved !== undefined) return resolved
  }
  return undefined
}

/**
 * Whether `url` (see {@link absoluteUrl}; default the page's address) is a callback to
 * `redirectUri`. Never throws: anything that is no such address is `false`.
 */
export function isCallbackUrl(url: unknown, redirectUri: string, page: () => string): boolean {
  const absolute = absoluteUrl(url, redirectUri, page)
  return absolute !== undefined && attempt(() => readCallback(absolute, redirectUri)) !== undefined
}

/** `read()`, or `undefined` when it throws. */
function attempt<T>(read: () => T): T | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
}

/**
 * Returns the authorization response parameters when the absolute address `url` is a callback to
 * `redirectUri` (same origin and path, with `state` and a `code` or an `error`), else `undefined`.
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

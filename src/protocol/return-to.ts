import { AuthError } from '../platform/errors.js'

/**
 * Returns `returnTo` as a normalised path on `origin` (path, query and hash), or throws.
 *
 * The input must start with `/`; it is then resolved with `URL` against `origin` (dot segments,
 * backslashes, tabs and newlines are resolved the way a browser resolves them) and the RESULT is
 * checked: the same origin, and a path starting with exactly one `/` and holding no `\` — both
 * as is and once percent-decoded, for a router or server that decodes the path before using it
 * (`/%2f%2fevil.example`). The query and hash are kept as they are. Examples: `/a/../b` → `/b`; `/..//evil.example` is refused.
 *
 * @param origin The page's origin, e.g. `https://app.example.com`.
 * @throws AuthError `invalid_return_to` for anything that does not stay a path on `origin` (no open
 *   redirect).
 */
export function sameOriginPath(returnTo: string, origin: string): string {
  const resolved = typeof returnTo === 'string' && returnTo.startsWith('/') ? new URL(returnTo, origin) : undefined
  if (
    resolved === undefined ||
    resolved.origin !== origin ||
    !isSinglePath(resolved.pathname) ||
    !isSinglePath(decoded(resolved.pathname))
  ) {
    throw new AuthError(
      'invalid_return_to',
      `returnTo must be a path on this site such as "/orders"; ${JSON.stringify(returnTo)} is refused because it could lead to another site (open redirect).`,
    )
  }
  return resolved.pathname + resolved.search + resolved.hash
}

/** One leading `/` not followed by another, and no `\`: a path no browser reads as another host. */
function isSinglePath(path: string | undefined): boolean {
  return path !== undefined && /^\/(?!\/)/.test(path) && !path.includes('\\')
}

function decoded(path: string): string | undefined {
  try {
    return decodeURIComponent(path)
  } catch {
    return undefined // malformed percent-encoding: refused rather than guessed at
  }
}

/**
 * The package's entries by name, as an app imports them, resolved to the sources: the playground,
 * the examples and the tests of the README's examples run on src/ with no build step (tsconfig.json's
 * `paths` says the same to tsc). The packed package is what test/browser/package.test.ts installs.
 */
import { fileURLToPath } from 'node:url'
import type { Alias } from 'vite'

const SOURCES = fileURLToPath(new URL('../src/', import.meta.url))

export const PACKAGE_ALIASES: Alias[] = [
  { find: /^spa-auth$/, replacement: `${SOURCES}index.ts` },
  { find: /^spa-auth\/(react|vue|testing)$/, replacement: `${SOURCES}$1.ts` },
]

// @vitest-environment node
/**
 * The public API: the runtime names of the package entry, and the committed API report of each
 * entry (docs/api/*.public.api.md), which must be the one the sources make now — so a change of the
 * public surface shows in review as a change of a report. `npm run api:update` rewrites them.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildDeclarations, ENTRIES, type EntryReport } from '../scripts/declarations.js'

it('exports exactly the documented runtime names from the package entry', async () => {
  const entry = await import('../src/index.js')

  expect(Object.keys(entry).sort()).toEqual([
    'AuthError',
    'bindAuthActions',
    'createAuthClient',
    'createMemoryStore',
    'createRedirectController',
    'isAuthError',
  ])
})

describe('the declarations and API reports of the entries', () => {
  let outDir: string
  let reports: EntryReport[]

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'spa-auth-api-'))
    reports = await buildDeclarations({ outDir })
  }, 120_000)
  afterAll(() => rm(outDir, { recursive: true, force: true }))

  it.each(ENTRIES)('the committed API report of %s is the one the sources make (else: npm run api:update)', (entry) => {
    const { report, committed, reportPath } = reports.find((found) => found.entry === entry)!

    expect(committed, `${reportPath} is missing: run \`npm run api:update\` and commit it`).toBeDefined()
    expect(report, `the public API of ${entry} changed: run \`npm run api:update\` and commit ${reportPath}`).toBe(
      committed,
    )
  })

  it('rolls each entry up into one declaration file, and writes no other', async () => {
    expect((await readdir(outDir)).sort()).toEqual(ENTRIES.map((entry) => `${entry}.d.ts`).sort())
  })

  it('makes the adapters and the testing entry import the core from the sibling index.js, never a copy of it', async () => {
    for (const entry of ['react', 'vue', 'testing']) {
      const text = await readFile(join(outDir, `${entry}.d.ts`), 'utf8')
      expect(text).toContain("from './index.js'")
      expect(text).not.toMatch(/from 'spa-auth'|declare class AuthError|interface AuthClient\b/)
    }
  })
})

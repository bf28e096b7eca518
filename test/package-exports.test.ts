// @vitest-environment node
/**
 * The package's shape: the runtime names of each entry, the `exports` map, and what each built
 * file imports (the core never pulls in a framework; the adapters share the core's file).
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Script } from 'node:vm'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const REPO = fileURLToPath(new URL('..', import.meta.url))

const ENTRIES = {
  index: [
    'AuthError',
    'bindAuthActions',
    'createAuthClient',
    'createMemoryStore',
    'createRedirectController',
    'isAuthError',
  ],
  react: ['AuthProvider', 'useAuth'],
  vue: ['createAuthGuard', 'createAuthPlugin', 'useAuth'],
  testing: ['createTestProvider'],
} as const

/** Every module specifier a built ESM file imports or re-exports from, static or dynamic. */
function importsOf(code: string): string[] {
  const found = new Set<string>()
  for (const match of code.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s*["']([^"']+)["']/gm)) found.add(match[1]!)
  for (const match of code.matchAll(/^\s*import\s*["']([^"']+)["']/gm)) found.add(match[1]!)
  for (const match of code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) found.add(match[1]!)
  return [...found].sort()
}

describe('the package entries', () => {
  it.each(Object.entries(ENTRIES))('%s exports exactly the documented runtime names', async (entry, names) => {
    const module = (await import(`../src/${entry}.ts`)) as Record<string, unknown>
    expect(Object.keys(module).sort()).toEqual([...names])
  })

  it('package.json maps ".", "./react", "./vue" and "./testing" to built files with their types, and publishes only dist', async () => {
    const manifest = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>
      files: string[]
      peerDependencies: Record<string, string>
      peerDependenciesMeta: Record<string, { optional?: boolean }>
      dependencies: Record<string, string>
    }
    expect(manifest.exports).toEqual({
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './react': { types: './dist/react.d.ts', default: './dist/react.js' },
      './vue': { types: './dist/vue.d.ts', default: './dist/vue.js' },
      './testing': { types: './dist/testing.d.ts', default: './dist/testing.js' },
      './package.json': './package.json',
    })
    expect(manifest.files).toEqual(['dist'])
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['react', 'vue'])
    expect(manifest.peerDependenciesMeta).toEqual({ react: { optional: true }, vue: { optional: true } })
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['idb-keyval', 'oauth4webapi'])
  })
})

describe('the build (Vite library mode, the repository configuration)', () => {
  let outDir: string
  const built = (name: string) => readFile(join(outDir, name), 'utf8')

  beforeAll(async () => {
    // Its own directory, not dist/: the browser suites build dist/ at the same time.
    outDir = await mkdtemp(join(tmpdir(), 'spa-auth-build-'))
    await build({
      root: REPO,
      configFile: join(REPO, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true },
    })
  })
  afterAll(() => rm(outDir, { recursive: true, force: true }))

  /** The bare imports of `file` and of every chunk it reaches through relative imports. */
  async function dependenciesOf(file: string, seen = new Set<string>()): Promise<Set<string>> {
    const bare = new Set<string>()
    seen.add(file)
    for (const specifier of importsOf(await built(file))) {
      if (!specifier.startsWith('./')) bare.add(specifier)
      else if (!seen.has(specifier.slice(2)))
        for (const name of await dependenciesOf(specifier.slice(2), seen)) bare.add(name)
    }
    return bare
  }

  it('writes the entries, the refresh workers and the chunks they share, side by side', async () => {
    const files = (await readdir(outDir)).filter((name) => name.endsWith('.js'))
    const entries = ['index.js', 'react.js', 'refresh-service-worker.js', 'refresh-worker.js', 'testing.js', 'vue.js']
    expect(files.filter((name) => entries.includes(name)).sort()).toEqual(entries)
    for (const chunk of files.filter((name) => !entries.includes(name))) expect(chunk).toMatch(/^[\w-]+-[\w-]{8}\.js$/)
  })

  it('keeps React and Vue out of the core entry: it and its chunks import only its two dependencies', async () => {
    expect([...(await dependenciesOf('index.js'))].sort()).toEqual(['idb-keyval', 'oauth4webapi'])
  })

  it("names the refresh worker the way an app's bundler finds it: a module SharedWorker at a sibling URL", async () => {
    const files = (await readdir(outDir)).filter((name) => name.endsWith('.js'))
    const naming = await Promise.all(
      files.map(async (name) =>
        (await built(name)).includes('new SharedWorker(new URL("./refresh-worker.js", import.meta.url), {'),
      ),
    )
    expect(naming.filter(Boolean)).toHaveLength(1)
    expect([...(await dependenciesOf('refresh-worker.js'))].sort()).toEqual(['idb-keyval', 'oauth4webapi'])
  })

  it("names the refresh service worker the way an app's bundler copies it: one classic script at a sibling URL", async () => {
    const files = (await readdir(outDir)).filter((name) => name.endsWith('.js'))
    const naming = await Promise.all(
      files.map(async (name) =>
        (await built(name)).includes('new URL("./refresh-service-worker.js", import.meta.url)'),
      ),
    )
    expect(naming.filter(Boolean)).toHaveLength(1)
    const script = await built('refresh-service-worker.js')
    expect(importsOf(script)).toEqual([])
    expect(() => new Script(script)).not.toThrow()
  })

  it('makes each adapter import its framework and the core file, never a copy of the core', async () => {
    expect(importsOf(await built('react.js'))).toEqual(['./index.js', 'react'])
    expect(importsOf(await built('vue.js'))).toEqual(['./index.js', 'vue'])
  })

  it('makes the testing entry import the core file and nothing else (no oauth4webapi, no jose)', async () => {
    expect(importsOf(await built('testing.js'))).toEqual(['./index.js'])
  })
})

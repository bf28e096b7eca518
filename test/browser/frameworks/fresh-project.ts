/**
 * Fresh projects that use the packed package the way an app does: `npm pack` of this repository,
 * then a project in a temporary folder that installs the tarball (and react or vue) with npm.
 *
 * The install needs no network: each project gets a package-lock.json cut from this repository's
 * lockfile (the same versions, the same integrity hashes) plus the tarball, and `npm ci --offline`
 * takes every package from the npm cache that `npm ci` of this repository filled — the registry
 * documents as well as the tarballs, since the lockfile records no `resolved` URLs. (`npm install
 * --offline react@x` asks for a different form of those documents and misses the cache.)
 */
import { execFile } from 'node:child_process'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { buildLibrary } from '../support/app-server.js'

const run = promisify(execFile)
export const REPO = fileURLToPath(new URL('../../../', import.meta.url))
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc')

/** What `npm pack --json` reports about the tarball. */
export interface PackedLibrary {
  /** Absolute path of the .tgz */
  tarball: string
  filename: string
  name: string
  version: string
  /** Bytes of the .tgz, and of its files unpacked. */
  size: number
  unpackedSize: number
  integrity: string
  files: string[]
}

interface LockEntry {
  version?: string
  resolved?: string
  integrity?: string
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
  [field: string]: unknown
}

/** Builds the package as published (JavaScript with Vite, one declaration file per entry) and packs it into `dir`. */
export async function packLibrary(dir: string): Promise<PackedLibrary> {
  await buildLibrary()
  await run(process.execPath, [join(REPO, 'scripts', 'declarations.mjs'), '--out', join(REPO, 'dist')], { cwd: REPO })
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO })
  const [report] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<
    Omit<PackedLibrary, 'tarball' | 'files'> & { files: Array<{ path: string }> }
  >
  if (!report) throw new Error(`npm pack printed no report: ${stdout}`)
  return { ...report, tarball: join(dir, report.filename), files: report.files.map((file) => file.path).sort() }
}

/**
 * Writes a project into `dir` (its `files`, a package.json and a package-lock.json) depending on
 * the tarball and on `dependencies` at the versions this repository has locked, then installs it
 * with `npm ci --offline`. Returns the milliseconds the install took.
 */
export async function createProject(
  dir: string,
  library: PackedLibrary,
  dependencies: string[],
  files: Record<string, string>,
): Promise<number> {
  const repoLock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>
  }
  const manifest = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as LockEntry
  const name = dir.split(/[\\/]/).at(-1)!
  const tarballSpec = `file:../${library.filename}`

  const rootDependencies: Record<string, string> = { [library.name]: tarballSpec }
  for (const dependency of dependencies) rootDependencies[dependency] = lockedVersion(repoLock.packages, dependency)
  const packages: Record<string, LockEntry> = {
    '': { name, version: '0.0.0', dependencies: rootDependencies },
    [`node_modules/${library.name}`]: {
      version: library.version,
      resolved: tarballSpec,
      integrity: library.integrity,
      license: manifest['license'],
      dependencies: manifest.dependencies ?? {},
      ...(manifest.peerDependencies ? { peerDependencies: manifest.peerDependencies } : {}),
      ...(manifest.peerDependenciesMeta ? { peerDependenciesMeta: manifest.peerDependenciesMeta } : {}),
    },
  }
  addClosure(repoLock.packages, [...dependencies, ...Object.keys(manifest.dependencies ?? {})], packages)

  await mkdir(dir, { recursive: true })
  const written = {
    ...files,
    'package.json': JSON.stringify(
      { name, private: true, version: '0.0.0', type: 'module', dependencies: rootDependencies },
      null,
      2,
    ),
    'package-lock.json': JSON.stringify(
      { name, version: '0.0.0', lockfileVersion: 3, requires: true, packages },
      null,
      2,
    ),
  }
  for (const [path, content] of Object.entries(written)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), content)
  }
  const started = performance.now()
  const install = (cacheMode: string) =>
    run('npm', ['ci', cacheMode, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir })
  try {
    await install('--offline')
  } catch (error) {
    // A cache filled some other way than `npm ci` of this lockfile may lack a registry document:
    // take just what is missing from the registry.
    if (!/ENOTCACHED/.test(String((error as { stderr?: string }).stderr))) throw error
    console.warn(`npm ci --offline in ${name}: the npm cache lacks a registry document; retrying with --prefer-offline`)
    await install('--prefer-offline')
  }
  return Math.round(performance.now() - started)
}

/** Runs this repository's TypeScript on a project; rejects with the compiler's output. */
export async function typecheck(project: string): Promise<void> {
  try {
    await run(process.execPath, [TSC, '--noEmit', '-p', project], { cwd: dirname(project) })
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(`tsc -p ${project} failed:\n${stdout}${stderr}`)
  }
}

/**
 * Runs the project's own Vitest (`vitest run`, then `args`) in `dir`, as its developers would;
 * resolves the output, rejects with it when a test fails. The variables of the Vitest running this
 * suite are left out, so the project's run is its own. Each test may take 30 s instead of Vitest's
 * 5: here the project's tests share the machine with the other browser suites, and on a loaded
 * machine a test that takes a second alone has taken more than five.
 */
export async function runVitest(dir: string, args: string[] = []): Promise<string> {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', CI: 'true' }
  const vitest = join(dir, 'node_modules', 'vitest', 'vitest.mjs')
  try {
    const { stdout, stderr } = await run(process.execPath, [vitest, 'run', '--testTimeout=30000', ...args], {
      cwd: dir,
      env,
    })
    return `${stdout}${stderr}`
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(`vitest run in ${dir} failed:\n${stdout}${stderr}`)
  }
}

/**
 * The code blocks of the README and of the guides that the fresh apps are made of: the markdown
 * file, its `## ` section, and the file name on the block's first line. test/docs.test.ts allows a
 * named block there that no other file holds, because a fresh app is built from it.
 */
export const MARKDOWN_APP_FILES = [
  { markdown: 'README.md', section: 'Quick start', name: 'src/main.ts' },
  { markdown: 'docs/testing.md', section: 'Setup (Vitest)', name: 'vitest.config.ts' },
] as const

/**
 * The code blocks of one `## ` section of a markdown file of this repository that start with a file
 * name comment (`// src/main.ts`, `<!-- src/App.vue -->`), keyed by that file name: the examples,
 * exactly as a reader copies them.
 */
export async function markdownFiles(markdown: string, section: string): Promise<Record<string, string>> {
  const text = await readFile(join(REPO, markdown), 'utf8')
  const start = text.indexOf(`\n## ${section}\n`)
  if (start === -1) throw new Error(`${markdown} has no "## ${section}" section`)
  const end = text.indexOf('\n## ', start + 1)
  const files: Record<string, string> = {}
  for (const [, body] of text.slice(start, end === -1 ? undefined : end).matchAll(/```\w*\n([\s\S]*?)```/g)) {
    const named = /^(?:\/\/|<!--)\s*(\S+?)\s*(?:-->)?\n/.exec(body!)
    if (named) files[named[1]!] = body!
  }
  return files
}

/**
 * The sources of an example app (examples/react, examples/vue) as a user's app holds them, keyed by
 * their path from the app's root (`src/main.tsx`); its own tests left out.
 */
export async function exampleFiles(example: 'react' | 'vue'): Promise<Record<string, string>> {
  const root = join(REPO, 'examples', example)
  const files: Record<string, string> = {}
  for (const entry of await readdir(join(root, 'src'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || /\.test\.tsx?$/.test(entry.name)) continue
    const path = join(entry.parentPath, entry.name)
    files[relative(root, path).split(sep).join('/')] = await readFile(path, 'utf8')
  }
  return files
}

function lockedVersion(packages: Record<string, LockEntry>, name: string): string {
  const version = packages[`node_modules/${name}`]?.version
  if (version === undefined) throw new Error(`${name} is not in this repository's package-lock.json`)
  return version
}

/**
 * Copies into `into` the lock entries of `names` and of everything they depend on, resolved the
 * way Node resolves them (nearest node_modules first), so nested versions keep their place.
 */
function addClosure(packages: Record<string, LockEntry>, names: string[], into: Record<string, LockEntry>): void {
  const queue = names.map((name) => `node_modules/${name}`)
  while (queue.length > 0) {
    const path = queue.shift()!
    if (into[path] !== undefined) continue
    const entry = packages[path]
    if (entry === undefined) throw new Error(`${path} is not in this repository's package-lock.json`)
    const { dev, devOptional, peer, optional, ...kept } = entry
    into[path] = kept
    const required = { ...entry.dependencies, ...entry.optionalDependencies }
    for (const [peerName] of Object.entries(entry.peerDependencies ?? {})) {
      if (entry.peerDependenciesMeta?.[peerName]?.optional !== true) required[peerName] = '*'
    }
    for (const dependency of Object.keys(required)) {
      const found = resolveFrom(packages, path, dependency)
      if (found !== undefined) queue.push(found)
      else if (!(dependency in (entry.optionalDependencies ?? {})))
        throw new Error(`cannot find ${dependency}, needed by ${path}`)
    }
  }
}

function resolveFrom(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from
  for (;;) {
    const candidate = `${base}/node_modules/${name}`
    if (packages[candidate] !== undefined) return candidate
    const parent = base.lastIndexOf('/node_modules/')
    if (parent === -1) break
    base = base.slice(0, parent)
  }
  return packages[`node_modules/${name}`] !== undefined ? `node_modules/${name}` : undefined
}

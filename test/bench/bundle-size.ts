/**
 * Bundles a bench client the way an app ships it — esbuild, for the browser, minified, every
 * dependency inlined — and measures the bytes: raw, gzip, and what each input module costs.
 * The same bundler also builds the pages the browser measures load, so the code measured for
 * size is the code that runs.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build, type BuildOptions } from 'esbuild'

const REPO = fileURLToPath(new URL('../../', import.meta.url))
const HARNESS = fileURLToPath(new URL('./app/harness.ts', import.meta.url))

const BROWSER: BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  write: false,
  logLevel: 'silent',
  absWorkingDir: REPO,
}

/** Bytes one input module leaves in the minified output. */
export interface ModuleCost {
  /** Relative to the repository, e.g. `src/session.ts` or `node_modules/oauth4webapi/build/index.js`. */
  path: string
  bytes: number
}

export interface BundleSize {
  rawBytes: number
  gzipBytes: number
  /** Largest first. */
  modules: ModuleCost[]
}

/** Bundles `entry` (with everything it imports) and measures it. */
export async function measureBundle(entry: string): Promise<BundleSize> {
  const result = await build({ ...BROWSER, entryPoints: [entry], outfile: 'bundle.js', metafile: true })
  const output = result.outputFiles?.[0]
  if (!output) throw new Error(`esbuild produced no output for ${entry}`)
  const meta = Object.values(result.metafile.outputs)[0]
  const modules = Object.entries(meta?.inputs ?? {})
    // Packages by their name, wherever node_modules is (a worktree may link to another checkout's).
    .map(([path, { bytesInOutput }]) => ({
      path: relative(REPO, join(REPO, path)).replace(/^.*\bnode_modules\//, 'node_modules/'),
      bytes: bytesInOutput,
    }))
    .filter((module) => module.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes)
  return {
    rawBytes: output.contents.byteLength,
    gzipBytes: gzipSync(output.contents, { level: 9 }).byteLength,
    modules,
  }
}

/**
 * Writes a page for the browser measures into `outDir`: index.html and app.js, the bench client
 * `adapter` started by the page harness (see app/harness.ts).
 */
export async function buildBenchPage(adapter: string, outDir: string): Promise<void> {
  const result = await build({
    ...BROWSER,
    stdin: {
      contents: `import { createBenchClient } from ${JSON.stringify(adapter)}\nimport { startBenchPage } from ${JSON.stringify(HARNESS)}\nstartBenchPage(createBenchClient)\n`,
      resolveDir: REPO,
      sourcefile: 'bench-page.ts',
      loader: 'ts',
    },
    outfile: 'app.js',
  })
  const script = result.outputFiles?.[0]
  if (!script) throw new Error(`esbuild produced no page for ${adapter}`)
  await mkdir(outDir, { recursive: true })
  await writeFile(join(outDir, 'app.js'), script.contents)
  await writeFile(
    join(outDir, 'index.html'),
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench</title><link rel="icon" href="data:,"></head>' +
      '<body><script type="module" src="/app.js"></script></body></html>',
  )
}

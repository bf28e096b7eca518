// npm test's static checks, all at once: `node scripts/checks.mjs <npm script> …`.
// Each is a single-threaded process (tsc, vue-tsc, prettier, eslint), so one after another they
// leave a core idle; side by side they take as long as the longest. Each check's output is kept
// and printed whole when it ends, so two failures never interleave their lines.
import { spawn } from 'node:child_process'

const checks = process.argv.slice(2)
const results = await Promise.all(checks.map(run))
const failed = results.filter((result) => result.code !== 0)
for (const { name, code } of failed) console.error(`\`npm run ${name}\` failed (exit code ${code}).`)
process.exit(failed.length === 0 ? 0 : 1)

/** Runs `npm run <name>` quietly; its output is printed when it ends. */
function run(name) {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', name], { stdio: ['ignore', 'pipe', 'pipe'] })
    const output = []
    child.stdout.on('data', (chunk) => output.push(chunk))
    child.stderr.on('data', (chunk) => output.push(chunk))
    child.on('error', (error) => output.push(Buffer.from(`${error.message}\n`)))
    child.on('close', (code) => {
      if (output.length > 0) process.stdout.write(Buffer.concat(output))
      resolve({ name, code: code ?? 1 })
    })
  })
}

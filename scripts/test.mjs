// `npm test [-- <vitest arguments>]`: the type checks and the lint, and every Vitest suite, at once.
//
// The checks are single-threaded compilers and linters; the browser suites spend most of their time
// waiting on ageing tokens and held answers. So the checks run beside Vitest at a lower priority:
// they take the cores the suites leave idle and never slow a suite down. Their output is kept and
// printed after Vitest's, so it never interleaves with Vitest's report. Arguments go to Vitest.
import { spawn } from 'node:child_process'
import { setPriority } from 'node:os'

const CHECKS = ['typecheck', 'lint']
/** Below normal: 10 on Unix, "below normal" on Windows. */
const LOWER = 10

const checks = CHECKS.map((name) => run('npm', ['run', '--silent', name], { quiet: true, priority: LOWER }))
const vitest = run('npx', ['vitest', 'run', ...process.argv.slice(2)], { quiet: false })

const results = [await vitest, ...(await Promise.all(checks))]
for (const { output } of results) if (output.length > 0) process.stdout.write(Buffer.concat(output))
const failed = results.filter((result) => result.code !== 0)
for (const { command, code } of failed) console.error(`\`${command}\` failed (exit code ${code}).`)
process.exit(failed.length === 0 ? 0 : 1)

/**
 * Runs `command`; `quiet` keeps its output for later (else it goes to this terminal as it comes).
 * Resolves its exit code and kept output.
 */
function run(file, args, { quiet, priority }) {
  const command = [file, ...args].join(' ')
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
      shell: process.platform === 'win32',
    })
    const output = []
    if (priority !== undefined && child.pid !== undefined) {
      try {
        setPriority(child.pid, priority)
      } catch {
        // Not allowed here: it runs at normal priority, which only costs time.
      }
    }
    child.stdout?.on('data', (chunk) => output.push(chunk))
    child.stderr?.on('data', (chunk) => output.push(chunk))
    child.on('error', (error) => output.push(Buffer.from(`${command}: ${error.message}\n`)))
    child.on('close', (code) => resolve({ command, code: code ?? 1, output }))
  })
}

// `npm run bench [-- --quick] [-- --strict]`: runs test/bench/bench.ts (TypeScript, loaded through
// Vite's module runner, so Node 20 needs nothing else), prints the table on stdout and writes the
// JSON under bench-results/. Progress goes to stderr.
import { fileURLToPath } from 'node:url'
import { runnerImport } from 'vite'

const USAGE = `usage: npm run bench [-- --quick] [-- --strict]
  --quick   a tiny configuration (short tokens, one short idle window): every row, not the numbers
  --strict  exit with code 1 when a budget line fails (first load, default job, warm start)`

const args = new Set(process.argv.slice(2))
for (const arg of args) {
  if (!['--quick', '--strict', '--help'].includes(arg)) {
    console.error(`unknown option ${arg}\n${USAGE}`)
    process.exit(2)
  }
}
if (args.has('--help')) {
  console.log(USAGE)
  process.exit(0)
}

const repo = fileURLToPath(new URL('../../', import.meta.url))
const { module: bench } = await runnerImport(fileURLToPath(new URL('./bench.ts', import.meta.url)), {
  root: repo,
  logLevel: 'warn',
})
const settings = args.has('--quick') ? bench.QUICK_SETTINGS : bench.FULL_SETTINGS
const report = await bench.runBench(settings, { log: (line) => console.error(`[bench] ${line}`) })
console.log(`\n${bench.formatReport(report)}\n`)
const path = await bench.writeReport(report, `${repo}bench-results`)
console.error(`[bench] wrote ${path}`)
if (args.has('--strict') && !report.budget.pass) process.exitCode = 1

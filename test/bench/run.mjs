// `npm run bench [-- --quick] [-- --strict] [-- --no-docs]`: runs test/bench/bench.ts (TypeScript,
// loaded through Vite's module runner, so Node 20 needs nothing else), prints the budget table,
// every measure and the budget lines on stdout, writes the JSON under bench-results/ and, after a
// full run, docs/performance.md and the README's Performance table. Progress goes to stderr.
import { fileURLToPath } from 'node:url'
import { runnerImport } from 'vite'

const USAGE = `usage: npm run bench [-- --quick] [-- --strict] [-- --no-docs]
  --quick    a tiny configuration (short tokens, one short idle window): every row, not the numbers;
             writes bench-results/latest-quick.json only
  --strict   exit with code 1 when a budget line fails (or could not be measured)
  --no-docs  leave docs/performance.md and the README alone`

const OPTIONS = ['--quick', '--strict', '--no-docs', '--help']
const args = new Set(process.argv.slice(2))
for (const arg of args) {
  if (!OPTIONS.includes(arg)) {
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
const quick = args.has('--quick')
const report = await bench.runBench(quick ? bench.QUICK_SETTINGS : bench.FULL_SETTINGS, {
  log: (line) => console.error(`[bench] ${line}`),
})
console.log(`\n${bench.formatReport(report)}\n`)
console.error(`[bench] wrote ${await bench.writeReport(report, `${repo}bench-results`)}`)
if (!quick && !args.has('--no-docs')) {
  for (const path of await bench.writeDocs(report, repo)) console.error(`[bench] wrote ${path}`)
}
if (args.has('--strict') && !report.budget.pass) {
  const failed = report.budget.checks.filter((check) => !check.pass).map((check) => check.name)
  console.error(
    `[bench] --strict: ${failed.length} budget line${failed.length === 1 ? '' : 's'} failed: ${failed.join('; ')}`,
  )
  process.exitCode = 1
}

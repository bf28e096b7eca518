// `node scripts/declarations.mjs [--out DIR] [--update]`: the rolled-up declarations of the
// package's entries (into DIR, e.g. dist) and their API reports (docs/api/*.api.md). --update
// writes the reports made now over the committed ones; without it, a report that differs from the
// committed one is an error. scripts/declarations.ts (TypeScript) loads through Vite's module
// runner, so Node 20 needs nothing else.
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runnerImport } from 'vite'

const { values } = parseArgs({ options: { out: { type: 'string' }, update: { type: 'boolean', default: false } } })
const repo = fileURLToPath(new URL('../', import.meta.url))
const { module: declarations } = await runnerImport(fileURLToPath(new URL('./declarations.ts', import.meta.url)), {
  root: repo,
  logLevel: 'warn',
})
const reports = await declarations.buildDeclarations({
  ...(values.out ? { outDir: values.out } : {}),
  updateReports: values.update,
})
for (const { reportPath, report, committed, messages } of reports) {
  const path = reportPath.slice(repo.length)
  for (const message of messages) console.error(`${path}: ${message}`)
  if (report === committed) continue
  if (values.update) console.error(`${path}: updated`)
  else {
    console.error(`${path} is out of date: the public API changed. Run \`npm run api:update\` and commit the report.`)
    process.exitCode = 1
  }
}

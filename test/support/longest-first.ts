import { basename } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * The browser files that take longest (seconds, Chromium / Firefox, as a fresh clone's
 * `npm test` reports them on a 2-core machine): most of it is waiting on tokens to age and on held
 * answers, not work.
 */
const LONGEST = new Map([
  ['package.test.ts', [55, 0]],
  ['refresh.test.ts', [43, 51]],
  ['popup.test.ts', [44, 25]],
  ['refresh-worker.test.ts', [31, 46]],
  ['warm-start.test.ts', [20, 24]],
  ['examples.test.ts', [31, 0]],
  ['bench-smoke.test.ts', [22, 0]],
])

/**
 * Vitest's order, except that the files of one group start longest first whatever their project:
 * the default runs a group project after project, and a fresh clone has no timings to sort by, so
 * Firefox's long files started when Chromium's were done and the group ran a minute longer than
 * its three slots need.
 */
export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const group = (spec: TestSpecification) => spec.project.config.sequence.groupOrder
    return sorted
      .map((spec, index) => ({ spec, index }))
      .sort((a, b) => group(a.spec) - group(b.spec) || seconds(b.spec) - seconds(a.spec) || a.index - b.index)
      .map(({ spec }) => spec)
  }
}

function seconds(spec: TestSpecification): number {
  const engine = spec.project.name === 'browser-firefox' ? 1 : 0
  return LONGEST.get(basename(spec.moduleId))?.[engine] ?? 0
}

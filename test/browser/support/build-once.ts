/**
 * The browser suites' global setup: builds the library and the test app once for the run, and
 * provides the app's directory to every suite, which serves it on a port of its own
 * (`startTestApp`). The files are the same for every suite, and no suite writes to them.
 */
import type { TestProject } from 'vitest/node'
import { buildTestApp } from './app-server.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The directory of the built test app (see build-once.ts). */
    testAppDir: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { appDir, remove } = await buildTestApp()
  project.provide('testAppDir', appDir)
  return remove
}

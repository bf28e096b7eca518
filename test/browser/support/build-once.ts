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

interface SharedBuild {
  build: ReturnType<typeof buildTestApp>
  /** The projects whose teardown has not run yet: the last one removes the build. */
  users: number
}

/**
 * The build of each run, by its Vitest instance. Both engines' projects run this setup, each with
 * a module instance of its own, so the one build is kept where both see it.
 */
const builds: WeakMap<object, SharedBuild> = ((globalThis as Record<symbol, unknown>)[
  Symbol.for('spa-auth.test-app-builds')
] ??= new WeakMap()) as WeakMap<object, SharedBuild>

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let shared = builds.get(project.vitest)
  if (shared === undefined) builds.set(project.vitest, (shared = { build: buildTestApp(), users: 0 }))
  shared.users++
  const { appDir, remove } = await shared.build
  project.provide('testAppDir', appDir)
  return async () => {
    if (--shared.users === 0) await remove()
  }
}

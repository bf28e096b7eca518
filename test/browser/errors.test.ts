/**
 * Errors as an app meets them in a browser, where a DOMException's getters throw ("Illegal
 * invocation" in Chromium) on anything but the original: a timed-out request's AuthError must be readable whole,
 * every field of every cause, as a logger or an error tracker walks it.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from './support/app-server.js'
import { engine, launchEngine, skipBrowserSuites, type Engine } from './support/engine.js'
import { configureApp, openTab } from './support/tabs.js'

/** A provider on loopback that takes every request and never answers it. */
async function startSilentIssuer(): Promise<{ issuer: string; close(): Promise<void> }> {
  const server = createServer(() => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  server.unref()
  return {
    issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oidc`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

describe.skipIf(skipBrowserSuites)(`errors in ${engine.title}`, () => {
  let app: TestApp
  let browser: Engine
  let silent: Awaited<ReturnType<typeof startSilentIssuer>>

  beforeAll(async () => {
    app = await startTestApp()
    silent = await startSilentIssuer()
    browser = await launchEngine()
  })

  afterAll(async () => {
    await browser?.close()
    await silent?.close()
    await app?.close()
  })

  it("a request cut off by requestTimeoutMs rejects with timeout whose cause's name and message read, down the whole chain", async () => {
    const context = await browser.newProfile()
    try {
      await configureApp(context, app.origin, silent.issuer, 'spa-test', { requestTimeoutMs: 300 })
      const tab = await openTab(context, `${app.origin}/`)

      const read = await tab.evaluate(async () => {
        const error = await window.auth.createSignInUrl().then(
          () => undefined,
          (reason: unknown) => reason,
        )
        // Every own field and every getter up the prototype chain, called on the object.
        const unreadable: string[] = []
        const seen = new Set<object>()
        const walk = (value: unknown, path: string): void => {
          if (typeof value !== 'object' || value === null || seen.has(value)) return
          seen.add(value)
          const names = new Set(Reflect.ownKeys(value))
          for (let proto = Object.getPrototypeOf(value); proto && proto !== Object.prototype;) {
            for (const name of Reflect.ownKeys(proto))
              if (Object.getOwnPropertyDescriptor(proto, name)?.get) names.add(name)
            proto = Object.getPrototypeOf(proto)
          }
          for (const name of names) {
            try {
              walk((value as Record<string | symbol, unknown>)[name], `${path}.${String(name)}`)
            } catch (failure) {
              unreadable.push(`${path}.${String(name)}: ${String(failure)}`)
            }
          }
        }
        walk(error, 'error')
        const { code, cause } = error as { code: string; cause: Record<string, unknown> }
        const field = (name: string) => {
          try {
            return cause[name]
          } catch (failure) {
            return `throws ${String(failure)}`
          }
        }
        return { code, name: field('name'), message: field('message'), className: field('className'), unreadable }
      })

      expect(read).toMatchObject({ code: 'timeout', name: 'AbortError', className: 'DOMException', unreadable: [] })
      expect(read.message).toMatch(/abort/i)
    } finally {
      await context.close()
    }
  })
})

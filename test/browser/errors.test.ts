/**
 * Errors as an app meets them in a browser, where a DOMException's getters throw ("Illegal
 * invocation" in Chromium) on anything but the original: a timed-out request's AuthError must be readable whole,
 * every field of every cause, as a logger or an error tracker walks it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from './support/app-server.js'
import { engine, launchEngine, skipBrowserSuites, type Engine } from './support/engine.js'
import { configureApp } from './support/tabs.js'

/** A loopback issuer whose every request the test holds unanswered. */
const SILENT_ISSUER = 'http://127.0.0.1:9/oidc'

describe.skipIf(skipBrowserSuites)(`errors in ${engine.title}`, () => {
  let app: TestApp
  let browser: Engine

  beforeAll(async () => {
    app = await startTestApp()
    browser = await launchEngine()
  })

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  it("a request cut off by requestTimeoutMs rejects with timeout whose cause's name and message read, down the whole chain", async () => {
    const context = await browser.newProfile()
    try {
      await configureApp(context, app.origin, SILENT_ISSUER, 'spa-test', { requestTimeoutMs: 300 })
      const tab = await context.newTab()
      // Held: never answered.
      await tab.intercept(
        (url) => url.startsWith(SILENT_ISSUER),
        () => new Promise<never>(() => {}),
      )
      await tab.goto(`${app.origin}/`)
      await tab.evaluate(() => window.appReady)

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

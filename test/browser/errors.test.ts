/**
 * Errors as an app meets them in Chromium, where a DOMException's getters throw "Illegal
 * invocation" on anything but the original: a timed-out request's AuthError must be readable whole,
 * every field of every cause, as a logger or an error tracker walks it.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from './support/app-server.js'
import { assertChromium, launchChromium, skipBrowserSuites } from './support/chromium.js'
import { configureApp, openTab } from './support/tabs.js'

/** A loopback issuer whose every request the test holds unanswered. */
const SILENT_ISSUER = 'http://127.0.0.1:9/oidc'

describe.skipIf(skipBrowserSuites)('errors in Chromium', () => {
  let app: TestApp
  let browser: Browser

  beforeAll(async () => {
    assertChromium()
    app = await startTestApp()
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  it("a request cut off by requestTimeoutMs rejects with timeout whose cause's name and message read, down the whole chain", async () => {
    const context = await browser.newContext()
    try {
      await configureApp(context, app.origin, SILENT_ISSUER, 'spa-test', { requestTimeoutMs: 300 })
      await context.route(`${SILENT_ISSUER}/**`, () => {}) // held: never answered
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

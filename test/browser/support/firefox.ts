/**
 * The system Firefox (Debian's `firefox-esr`) behind the engine seam (./engine.ts), driven by
 * puppeteer-core over WebDriver BiDi.
 *
 * A profile is a BiDi user context. What a profile hears (requests, responses, errors, console)
 * comes from the BiDi events of the whole browser, filtered by the user context each browsing
 * context was created in: those arrive in order, before any page object exists, so a popup's first
 * requests are never missed, as they could be by listeners attached to its page once it shows up.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import puppeteer, { InterceptResolutionAction, type BrowserContext, type HTTPRequest, type Page } from 'puppeteer-core'
import type { ConsoleMessage, Engine, LaunchOptions, Profile, RequestFate, SeenRequest, Tab } from './engine.js'

/** The raw WebDriver BiDi connection under puppeteer-core's Browser. */
interface Bidi {
  send(method: string, params: object): Promise<{ result: unknown }>
  on(event: string, handler: (params: never) => void): unknown
  off(event: string, handler: (params: never) => void): unknown
}

interface ContextInfo {
  context: string
  parent?: string | null
  userContext?: string
  url: string
}

interface NetworkEvent {
  context: string | null
  navigation: string | null
  request: { url: string; method: string }
  response?: { status: number; headers: { name: string; value: { type: string; value: string } }[] }
}

interface LogEntry {
  type: string
  level: string
  text: string | null
  source: { context?: string }
  stackTrace?: { callFrames: { url: string; functionName: string; lineNumber: number }[] }
}

/** Launches headless Firefox with a fresh, throwaway user-data directory. */
export async function launchFirefox(executablePath: string, options: LaunchOptions): Promise<Engine> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'spa-auth-firefox-'))
  try {
    const browser = await puppeteer.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath,
      headless: true,
      userDataDir,
      // puppeteer-core turns the popup blocker off; this keeps it on where a test asks.
      extraPrefsFirefox: options.popupBlocker === true ? { 'dom.disable_open_during_load': true } : {},
    })
    const bidi = (browser as unknown as { connection: Bidi }).connection
    return {
      name: 'firefox',
      newProfile: async () => firefoxProfile(bidi, await browser.createBrowserContext()),
      async close() {
        await browser.close()
        await rm(userDataDir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true })
    throw error
  }
}

/** The BiDi browsing context id of a page (puppeteer-core keeps it as the main frame's `_id`). */
const contextOf = (page: Page) => (page.mainFrame() as unknown as { _id: string })._id

function firefoxProfile(bidi: Bidi, browserContext: BrowserContext): Profile {
  const userContext = browserContext.id!
  /** This profile's browsing contexts: the top-level ones map to the address last loaded. */
  const contexts = new Set<string>()
  const addresses = new Map<string, string>()
  const tabs = new Map<string, Tab>()
  const handlers: [string, (params: never) => void][] = []
  const on = <T>(event: string, handler: (params: T) => void) => {
    bidi.on(event, handler as (params: never) => void)
    handlers.push([event, handler as (params: never) => void])
  }
  on<ContextInfo>('browsingContext.contextCreated', (info) => {
    if (info.userContext !== userContext) return
    contexts.add(info.context)
    if (!info.parent) addresses.set(info.context, info.url)
  })
  on<ContextInfo>('browsingContext.load', (info) => {
    if (addresses.has(info.context)) addresses.set(info.context, info.url)
  })
  const tabOf = (page: Page): Tab => {
    const id = contextOf(page)
    let tab = tabs.get(id)
    if (tab === undefined) tabs.set(id, (tab = firefoxTab(bidi, page, id)))
    return tab
  }
  const seen = (event: NetworkEvent): SeenRequest | undefined => {
    if (event.context === null || !contexts.has(event.context)) return undefined
    return {
      url: event.request.url,
      method: event.request.method,
      tabId: event.context,
      document: event.navigation !== null && addresses.has(event.context),
    }
  }
  const onLog = (type: string, listener: (entry: LogEntry, context: string) => void) =>
    on<LogEntry>('log.entryAdded', (entry) => {
      const context = entry.source.context
      if (entry.type === type && context !== undefined && contexts.has(context)) listener(entry, context)
    })
  return {
    addInitScript: async (script, arg) =>
      void (await bidi.send('script.addPreloadScript', {
        functionDeclaration: `() => (${script.toString()})(${JSON.stringify(arg)})`,
        userContexts: [userContext],
      })),
    // A window of its own, as every Playwright page in Chromium: a tab behind another tab of its
    // window is hidden, and Firefox runs a hidden tab's timers at most once a second.
    newTab: async () => tabOf(await browserContext.newPage({ type: 'window' })),
    async nextTab() {
      const before = new Set(browserContext.targets())
      const target = await browserContext.waitForTarget((target) => target.type() === 'page' && !before.has(target), {
        timeout: 0,
      })
      return tabOf((await target.page())!)
    },
    tabs: async () => (await browserContext.pages()).map(tabOf),
    onRequest: (listener) =>
      on<NetworkEvent>('network.beforeRequestSent', (event) => {
        const request = seen(event)
        if (request) listener(request)
      }),
    onResponse: (listener) =>
      on<NetworkEvent>('network.responseCompleted', (event) => {
        const request = seen(event)
        if (!request || !event.response) return
        const headers = event.response.headers
        listener({
          ...request,
          status: event.response.status,
          header: (name) => headers.find((header) => header.name.toLowerCase() === name)?.value.value,
        })
      }),
    onPageError: (listener) =>
      onLog('javascript', (entry, context) => {
        const stack = (entry.stackTrace?.callFrames ?? []).map(
          (frame) => `\n    at ${frame.functionName || '<anonymous>'} (${frame.url}:${frame.lineNumber + 1})`,
        )
        listener(`${addresses.get(context) ?? context}: ${entry.text ?? ''}${stack.join('')}`)
      }),
    onConsole: (listener) =>
      onLog('console', (entry) => {
        const type: ConsoleMessage['type'] =
          entry.level === 'error' ? 'error' : entry.level === 'warn' ? 'warning' : 'other'
        listener({ type, text: entry.text ?? '', url: entry.stackTrace?.callFrames[0]?.url ?? '' })
      }),
    async close() {
      for (const [event, handler] of handlers.splice(0)) bidi.off(event, handler)
      await browserContext.close()
    },
  }
}

function firefoxTab(bidi: Bidi, page: Page, id: string): Tab {
  /** Resolves the first event of `event` for this tab that `accept` returns a value for. */
  const nextEvent = <T, R>(event: string, accept: (params: T) => R | undefined): Promise<R> =>
    new Promise((resolve) => {
      const handler = (params: T & { context: string | null }) => {
        if (params.context !== id) return
        const value = accept(params)
        if (value === undefined) return
        bidi.off(event, handler as (params: never) => void)
        resolve(value)
      }
      bidi.on(event, handler as (params: never) => void)
    })
  const rules: { matches: (url: string) => boolean; decide: (url: string) => Promise<RequestFate> }[] = []
  const settle = async (request: HTTPRequest) => {
    // A request sent before interception was on goes its way.
    if (request.interceptResolutionState().action === InterceptResolutionAction.Disabled) return
    const url = request.url()
    const rule = rules.find((candidate) => candidate.matches(url))
    const fate = rule ? await rule.decide(url) : 'continue'
    await (fate === 'abort' ? request.abort() : request.continue())
  }

  return {
    id,
    url: () => page.url(),
    goto: async (url) => void (await page.goto(url)),
    reload: async () => void (await page.reload()),
    evaluate: (fn, arg) => page.evaluate(fn as (arg: unknown) => never, arg),
    async evaluateWithoutUserActivation(fn) {
      // puppeteer-core's evaluate asks BiDi for user activation; this call does not.
      const { result } = (await bidi.send('script.callFunction', {
        functionDeclaration: `async () => JSON.stringify(await (${fn.toString()})())`,
        awaitPromise: true,
        target: { context: id },
        userActivation: false,
      })) as { result: { type: string; result?: { value?: string }; exceptionDetails?: { text: string } } }
      if (result.type === 'exception') throw new Error(result.exceptionDetails?.text ?? 'the page threw')
      return JSON.parse(result.result?.value ?? 'null') as Awaited<ReturnType<typeof fn>>
    },
    async waitForFunction(fn, timeoutMs = 15_000) {
      const handle = await page.waitForFunction(fn, { polling: 100, timeout: timeoutMs })
      return (await handle.jsonValue()) as NonNullable<ReturnType<typeof fn>>
    },
    nextDocumentRequest: (matches) =>
      nextEvent<NetworkEvent, string>('network.beforeRequestSent', (event) =>
        event.navigation !== null && matches(event.request.url) ? event.request.url : undefined,
      ),
    nextLoad: async (matches) =>
      void (await nextEvent<ContextInfo, true>('browsingContext.load', (info) =>
        matches(info.url) ? true : undefined,
      )),
    async waitForUrl(matches) {
      const loaded = nextEvent<ContextInfo, true>('browsingContext.load', (info) =>
        matches(info.url) ? true : undefined,
      )
      const shown = await page
        .evaluate(() => (document.readyState === 'complete' ? location.href : null))
        .catch(() => null)
      if (shown === null || !matches(shown)) await loaded
    },
    waitForSelector: async (selector) => void (await page.waitForSelector(selector)),
    waitForText: async (text, timeoutMs) =>
      void (await page.waitForSelector(`::-p-text(${text})`, timeoutMs === undefined ? {} : { timeout: timeoutMs })),
    // Locators wait for the element, as Playwright's actions do (page.click does not).
    click: (selector) => page.locator(selector).click(),
    waitForButton: async (name) => void (await page.waitForSelector(`::-p-aria(${name}[role="button"])`)),
    clickButton: (name) => page.locator(`::-p-aria(${name}[role="button"])`).click(),
    fill: (selector, value) => page.locator(selector).fill(value),
    bringToFront: () => page.bringToFront(),
    useRealFocus: () => Promise.resolve(),
    async intercept(matches, decide) {
      rules.push({ matches, decide })
      if (rules.length > 1) return
      page.on('request', (request) => void settle(request))
      await page.setRequestInterception(true)
    },
    async waitForClose(timeoutMs = 30_000) {
      if (page.isClosed()) return
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the tab did not close in ${timeoutMs} ms`)), timeoutMs)
        page.once('close', () => {
          clearTimeout(timer)
          resolve()
        })
      })
    },
    close: () => page.close(),
  }
}

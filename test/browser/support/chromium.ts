/**
 * The system Chromium, driven by playwright-core over CDP: {@link launchChromium} for a bare
 * Playwright browser, {@link chromiumEngine} for the suites' engine seam (./engine.ts).
 */
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core'
import {
  ENGINES,
  engineMissing,
  skipEngine,
  type Engine,
  type LaunchOptions,
  type Profile,
  type SeenRequest,
  type Tab,
} from './engine.js'

/** The Chromium binary: CHROMIUM_PATH, else Debian's /usr/bin/chromium. */
export const CHROMIUM_PATH = ENGINES.chromium.executablePath

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

/** Why Chromium cannot run, or `undefined` when it can. */
export const chromiumMissing: string | undefined = engineMissing('chromium')

/** Whether suites that need Chromium itself (the bench's) skip: only when it is missing outside CI. */
export const skipBrowserSuites = skipEngine('chromium')

/**
 * Launches headless Chromium with a fresh, throwaway profile. playwright-core turns Chromium's
 * popup blocker off (`--disable-popup-blocking`); `popupBlocker: true` keeps it on, as in a
 * browser people use, for tests of what a blocked popup does.
 */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  if (chromiumMissing) throw new Error(chromiumMissing)
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    ...(options.popupBlocker === true ? { ignoreDefaultArgs: ['--disable-popup-blocking'] } : {}),
  })
}

/** Chromium behind the engine seam. */
export async function chromiumEngine(options: LaunchOptions): Promise<Engine> {
  const browser = await launchChromium(options)
  return {
    name: 'chromium',
    newProfile: async () => chromiumProfile(await browser.newContext()),
    close: () => browser.close(),
  }
}

function chromiumProfile(context: BrowserContext): Profile {
  const tabs = new WeakMap<Page, Tab>()
  let lastId = 0
  const tabOf = (page: Page): Tab => {
    let tab = tabs.get(page)
    if (tab === undefined) tabs.set(page, (tab = chromiumTab(page, `chromium-${++lastId}`)))
    return tab
  }
  const seen = (request: Request): SeenRequest => {
    // A worker's request has no frame (Playwright throws for a service worker's).
    let frame: ReturnType<Request['frame']> | undefined
    try {
      frame = request.frame()
    } catch {
      frame = undefined
    }
    return {
      url: request.url(),
      method: request.method(),
      tabId: frame ? tabOf(frame.page()).id : undefined,
      document: request.isNavigationRequest() && frame?.parentFrame() === null,
    }
  }
  return {
    addInitScript: async (script, arg) => void (await context.addInitScript(script as (arg: unknown) => void, arg)),
    newTab: async () => tabOf(await context.newPage()),
    nextTab: async () => tabOf(await context.waitForEvent('page')),
    tabs: () => Promise.resolve(context.pages().map(tabOf)),
    onRequest: (listener) => context.on('request', (request) => listener(seen(request))),
    onResponse: (listener) =>
      context.on('response', (response) => {
        const headers = response.headers()
        listener({ ...seen(response.request()), status: response.status(), header: (name) => headers[name] })
      }),
    onPageError(listener) {
      const listen = (page: Page) =>
        page.on('pageerror', (error) => listener(`${page.url()}: ${error.stack ?? error.message}`))
      context.pages().forEach(listen)
      context.on('page', listen)
    },
    onConsole: (listener) =>
      context.on('console', (message) => {
        const type = message.type()
        listener({
          type: type === 'error' || type === 'warning' ? type : 'other',
          text: message.text(),
          url: message.location().url,
        })
      }),
    close: () => context.close(),
  }
}

function chromiumTab(page: Page, id: string): Tab {
  return {
    id,
    url: () => page.url(),
    goto: async (url) => void (await page.goto(url)),
    reload: async () => void (await page.reload()),
    evaluate: (fn, arg) => page.evaluate(fn as (arg: unknown) => never, arg),
    async evaluateWithoutUserActivation(fn) {
      // A bare CDP Runtime.evaluate: unlike page.evaluate, which runs as a user gesture, it gives
      // the page no user activation.
      const cdp = await page.context().newCDPSession(page)
      try {
        const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', {
          expression: `(${fn.toString()})()`,
          awaitPromise: true,
          returnByValue: true,
        })
        if (exceptionDetails) throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text)
        return result.value as Awaited<ReturnType<typeof fn>>
      } finally {
        await cdp.detach()
      }
    },
    async waitForFunction(fn, timeoutMs = 15_000) {
      const handle = await page.waitForFunction(fn, undefined, { polling: 100, timeout: timeoutMs })
      return (await handle.jsonValue()) as NonNullable<ReturnType<typeof fn>>
    },
    nextDocumentRequest: async (matches) =>
      (
        await page.waitForRequest(
          (request) => request.isNavigationRequest() && request.frame() === page.mainFrame() && matches(request.url()),
        )
      ).url(),
    nextLoad: async (matches) => void (await page.waitForEvent('load', { predicate: () => matches(page.url()) })),
    waitForUrl: (matches) => page.waitForURL((url) => matches(url.href)),
    waitForSelector: async (selector) => void (await page.waitForSelector(selector)),
    waitForText: (text, timeoutMs) =>
      page.getByText(text).waitFor(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
    click: (selector) => page.click(selector),
    waitForButton: (name) => page.getByRole('button', { name }).waitFor(),
    clickButton: (name) => page.getByRole('button', { name }).click(),
    fill: (selector, value) => page.fill(selector, value),
    bringToFront: () => page.bringToFront(),
    async useRealFocus() {
      // The CDP session stays attached for the page's life, and with it the setting.
      const cdp = await page.context().newCDPSession(page)
      await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: false })
    },
    intercept: async (matches, decide) =>
      void (await page.route(
        (url) => matches(url.href),
        async (route) => {
          if ((await decide(route.request().url())) === 'abort') await route.abort()
          else await route.continue()
        },
      )),
    waitForClose: async (timeoutMs) => {
      if (page.isClosed()) return
      await page.waitForEvent('close', timeoutMs === undefined ? {} : { timeout: timeoutMs })
    },
    close: () => page.close(),
  }
}

/**
 * The browsers the suites run in, behind one seam: a test opens profiles and tabs and says what
 * it does in them (load, hold a request, wait for a document), and runs unchanged in Chromium
 * (playwright-core over CDP, ./chromium.ts) and in Firefox (puppeteer-core over WebDriver BiDi,
 * ./firefox.ts; Playwright cannot drive a stock Firefox). A vitest project picks the engine with
 * SPA_AUTH_BROWSER (`chromium`, the default, or `firefox`). Browsers are never downloaded: install
 * the distribution packages, or point CHROMIUM_PATH / FIREFOX_PATH at a binary.
 */
import { existsSync } from 'node:fs'

export type EngineName = 'chromium' | 'firefox'

/** What the suites need to know about an engine before launching it. */
interface EngineFacts {
  /** As the suites' titles name it. */
  title: string
  executablePath: string
  install: string
  /**
   * Whether the library's refreshes outlive the page here: in a SharedWorker where it outlives its
   * last page (`extendedLifetime`, Chromium 148+), else in the refresh service worker.
   */
  refreshWorker: boolean
  /**
   * What `auth.refreshIn` says in this engine when the app leaves refreshes to the library:
   * `'worker'` (the SharedWorker) or `'service-worker'` (no SharedWorker outlives its pages).
   */
  refreshHost: 'worker' | 'service-worker'
}

export const ENGINES: Record<EngineName, EngineFacts> = {
  chromium: {
    title: 'Chromium',
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    install: 'apt-get install -y chromium',
    refreshWorker: true,
    refreshHost: 'worker',
  },
  firefox: {
    title: 'Firefox',
    executablePath: process.env['FIREFOX_PATH'] ?? '/usr/bin/firefox-esr',
    install: 'apt-get install -y firefox-esr',
    refreshWorker: true,
    refreshHost: 'service-worker',
  },
}

/** The engine this run's suites drive. */
export const engineName: EngineName = process.env['SPA_AUTH_BROWSER'] === 'firefox' ? 'firefox' : 'chromium'
/** The facts of {@link engineName}. */
export const engine = ENGINES[engineName]

const onCi = process.env['CI'] === 'true'

/** Why `name` cannot run here, or `undefined` when it can. */
export function engineMissing(name: EngineName): string | undefined {
  const { title, executablePath, install } = ENGINES[name]
  if (existsSync(executablePath)) return undefined
  const variable = name === 'chromium' ? 'CHROMIUM_PATH' : 'FIREFOX_PATH'
  return `${title} was not found at ${executablePath}. Install it with \`${install}\` (or set ${variable}) to run the browser tests.`
}

const warned = new Set<EngineName>()

/**
 * Whether the suites of `name` skip: only when its browser is missing outside CI, which is said
 * loudly once. On CI (`CI=true`) a missing browser fails the suites instead (see
 * {@link launchEngine}).
 */
export function skipEngine(name: EngineName): boolean {
  const missing = engineMissing(name)
  if (missing === undefined || onCi) return false
  if (!warned.has(name)) {
    warned.add(name)
    const bar = '!'.repeat(100)
    console.warn(`\n${bar}\n!! SKIPPING THE ${name.toUpperCase()} BROWSER TESTS. ${missing}\n${bar}\n`)
  }
  return true
}

/** Whether this run's suites skip (its browser is missing outside CI). */
export const skipBrowserSuites = skipEngine(engineName)

/** How an engine is launched. */
export interface LaunchOptions {
  /**
   * Keep the browser's popup blocker on, as in a browser people use, for tests of what a blocked
   * popup does (both drivers turn it off by default).
   */
  popupBlocker?: boolean
}

/** A running browser with a fresh, throwaway user-data directory. */
export interface Engine {
  readonly name: EngineName
  /** A fresh profile: its own storage, IndexedDB, Web Locks, BroadcastChannel and workers. */
  newProfile(): Promise<Profile>
  close(): Promise<void>
}

/** A request a tab of a profile sent, as the profile saw it go out. */
export interface SeenRequest {
  url: string
  method: string
  /** The {@link Tab.id} of the tab that sent it; `undefined` for a worker's request. */
  tabId: string | undefined
  /** Whether it loads a tab's top-level document (redirects included). */
  document: boolean
}

/** A response a tab of a profile received (redirects included). */
export interface SeenResponse extends SeenRequest {
  status: number
  /** A response header by lower-case name. */
  header(name: string): string | undefined
}

/** A message the page wrote to its console. */
export interface ConsoleMessage {
  type: 'error' | 'warning' | 'other'
  text: string
  /** The script (or resource) that logged it, when the browser says. */
  url: string
}

/** One browser profile. */
export interface Profile {
  /** Runs `script(arg)` in every document of this profile before the document's own scripts. */
  addInitScript<A>(script: (arg: A) => void, arg: A): Promise<void>
  /** A new tab (in a window of its own) on about:blank. */
  newTab(): Promise<Tab>
  /** Resolves the next tab a page of this profile opens (a popup, `target=_blank`). */
  nextTab(): Promise<Tab>
  /** The tabs open now. */
  tabs(): Promise<Tab[]>
  onRequest(listener: (request: SeenRequest) => void): void
  onResponse(listener: (response: SeenResponse) => void): void
  /** Hears every uncaught error of a page of this profile, with the page's address. */
  onPageError(listener: (error: string) => void): void
  onConsole(listener: (message: ConsoleMessage) => void): void
  close(): Promise<void>
}

/** What becomes of a held request. */
export type RequestFate = 'continue' | 'abort'

/** One tab of a profile. Functions passed to run in the page must be self-contained. */
export interface Tab {
  /** Names this tab in {@link SeenRequest.tabId}. */
  readonly id: string
  /** The address of the document shown now. */
  url(): string
  /** Loads `url` and waits for its load event. */
  goto(url: string): Promise<void>
  reload(): Promise<void>
  /**
   * Runs `fn(arg)` in the page as a user gesture (both drivers give it user activation) and
   * resolves its result, which must survive a JSON round trip.
   */
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>
  /** Runs `fn` in the page without user activation, and resolves its JSON-able result. */
  evaluateWithoutUserActivation<R>(fn: () => Promise<R>): Promise<R>
  /** Polls `fn` in the page every 100 ms until it returns something truthy, and resolves that. */
  waitForFunction<R>(fn: () => R, timeoutMs?: number): Promise<NonNullable<R>>
  /** The address of the next request for a top-level document whose address `matches`. */
  nextDocumentRequest(matches: (url: string) => boolean): Promise<string>
  /** Resolves on the next load event of a top-level document whose address `matches`. */
  nextLoad(matches: (url: string) => boolean): Promise<void>
  /** Resolves once the document shown, or a later one, has loaded at an address that `matches`. */
  waitForUrl(matches: (url: string) => boolean): Promise<void>
  waitForSelector(selector: string): Promise<void>
  /** Waits until some element shows `text`. */
  waitForText(text: string, timeoutMs?: number): Promise<void>
  /** A user's click (trusted, with user activation) on the element `selector` picks. */
  click(selector: string): Promise<void>
  /** Waits until a button whose accessible name is `name` shows. */
  waitForButton(name: string): Promise<void>
  /** A user's click on the button whose accessible name is `name`. */
  clickButton(name: string): Promise<void>
  /** Types `value` into the empty field `selector` picks. */
  fill(selector: string, value: string): Promise<void>
  /** Brings this tab's window to the front and focuses it, as a user clicking on it does. */
  bringToFront(): Promise<void>
  /**
   * Makes `document.hasFocus()` report whether the page has the focus: Playwright emulates a
   * focused page in every Chromium tab; Firefox reports the real focus already.
   */
  useRealFocus(): Promise<void>
  /** Holds each request of this tab whose address `matches` until `decide` settles its fate. */
  intercept(matches: (url: string) => boolean, decide: (url: string) => Promise<RequestFate>): Promise<void>
  /** Resolves once this tab has closed (closed by its page, or by {@link close}). */
  waitForClose(timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

/** Launches `name` (this run's engine by default); throws the install instructions when it is missing. */
export async function launchEngine(name: EngineName = engineName, options: LaunchOptions = {}): Promise<Engine> {
  const missing = engineMissing(name)
  if (missing !== undefined) throw new Error(missing)
  // Imported when launched: a run of one engine does not load the other's driver.
  if (name === 'firefox') return (await import('./firefox.js')).launchFirefox(ENGINES.firefox.executablePath, options)
  return (await import('./chromium.js')).chromiumEngine(options)
}

/**
 * The playground's log of token requests across tabs. Each tab wraps the `fetch` it gives the
 * client, notices its own token requests (refresh and code exchange) and posts them on a
 * playground-only BroadcastChannel, so every open tab shows who asked the provider, and when.
 * The library is not involved: this only watches the requests it makes.
 */

export interface TokenRequest {
  /** The tab that sent the request. */
  tab: string
  /** Epoch ms of the answer. */
  at: number
  grantType: string
  /** HTTP status, or `network error`. */
  outcome: string
}

const CHANNEL = 'spa-auth-playground:token-requests'

/** A short name for this tab, kept across reloads of the tab (not shared with other tabs). */
export function tabName(): string {
  let name = sessionStorage.getItem('spa-auth-playground:tab')
  if (!name) {
    name = `tab ${Math.random().toString(36).slice(2, 5).toUpperCase()}`
    sessionStorage.setItem('spa-auth-playground:tab', name)
  }
  return name
}

/**
 * Returns a `fetch` that reports this tab's token requests, and a way to hear every tab's reports
 * (this tab's included).
 */
export function createTokenRequestLog(tab: string) {
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL) : undefined
  const listeners = new Set<(request: TokenRequest) => void>()
  const deliver = (request: TokenRequest) => listeners.forEach((listener) => listener(request))
  channel?.addEventListener('message', (event: MessageEvent<TokenRequest>) => deliver(event.data))

  function report(request: TokenRequest): void {
    deliver(request)
    channel?.postMessage(request)
  }

  const fetchWithLog: typeof fetch = async (input, init) => {
    const body = init?.body
    const grantType =
      typeof body === 'string' || body instanceof URLSearchParams
        ? new URLSearchParams(String(body)).get('grant_type')
        : null
    if (grantType === null) return fetch(input, init)
    try {
      const response = await fetch(input, init)
      report({ tab, at: Date.now(), grantType, outcome: String(response.status) })
      return response
    } catch (error) {
      report({ tab, at: Date.now(), grantType, outcome: 'network error' })
      throw error
    }
  }

  return {
    fetch: fetchWithLog,
    onRequest(listener: (request: TokenRequest) => void): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

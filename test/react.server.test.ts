// @vitest-environment node
/**
 * `spa-auth/react` rendered on a server (react-dom/server in Node: no window, no location, no
 * history). The server has no session to show: the page renders the loading state, and the
 * browser takes over after hydration.
 */
import { createElement as h, type ReactNode } from 'react'
import { renderToString } from 'react-dom/server'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createAuthClient, type AuthConfig } from '../src/index.js'
import { AuthProvider, useAuth } from '../src/react.js'

const config: AuthConfig = {
  issuer: 'https://id.example.com/oidc',
  clientId: 'client-1',
  redirectUri: 'https://app.example.com/callback',
}

function Profile(): ReactNode {
  const { status } = useAuth()
  return h('p', null, status === 'loading' ? 'Loading…' : status)
}

describe('spa-auth/react on the server', () => {
  let rejections: unknown[]
  const collect = (reason: unknown) => void rejections.push(reason)

  beforeEach(() => {
    rejections = []
    process.on('unhandledRejection', collect)
  })
  afterEach(() => {
    process.off('unhandledRejection', collect)
  })

  /** Lets any promise started by the render settle, so an unhandled rejection has been reported. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50))

  it('has no browser globals here', () => {
    expect(typeof window).toBe('undefined')
    expect(typeof location).toBe('undefined')
  })

  it('renders <AuthProvider client> as loading, without touching browser globals', async () => {
    const auth = createAuthClient(config)

    expect(renderToString(h(AuthProvider, { client: auth }, h(Profile)))).toBe('<p>Loading…</p>')
    await settle()
    expect(rejections).toEqual([])
    auth.dispose()
  })

  it('renders <AuthProvider config> as loading', async () => {
    expect(renderToString(h(AuthProvider, { config }, h(Profile)))).toBe('<p>Loading…</p>')
    await settle()
    expect(rejections).toEqual([])
  })
})

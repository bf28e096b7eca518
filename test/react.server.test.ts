// @vitest-environment node
/**
 * `spa-auth/react` rendered on a server (react-dom/server in Node: no window, no location, no
 * history). The server has no session to show: the page renders the loading state, and the
 * browser takes over after hydration.
 */
import { createElement as h, type ReactNode } from 'react'
import { renderToString } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { createAuthClient, type AuthConfig } from '../src/index.js'
import { AuthProvider, useAuth } from '../src/react.js'
import { recordUnhandledRejections } from './support/unhandled-rejections.js'

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
  it('has no browser globals here', () => {
    expect(typeof window).toBe('undefined')
    expect(typeof location).toBe('undefined')
  })

  it('renders <AuthProvider client> as loading, without touching browser globals', async () => {
    const unhandled = recordUnhandledRejections()
    const auth = createAuthClient(config)

    expect(renderToString(h(AuthProvider, { client: auth }, h(Profile)))).toBe('<p>Loading…</p>')
    expect(await unhandled.after(50)).toEqual([])
    auth.dispose()
  })

  it('renders <AuthProvider config> as loading', async () => {
    const unhandled = recordUnhandledRejections()
    expect(renderToString(h(AuthProvider, { config }, h(Profile)))).toBe('<p>Loading…</p>')
    expect(await unhandled.after(50)).toEqual([])
  })
})

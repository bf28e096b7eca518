// @vitest-environment node
/**
 * `spa-auth/vue` rendered on a server (createSSRApp + vue/server-renderer in Node: no window, no
 * location, no history). The server has no session to show: the page renders the loading state,
 * and the browser takes over after hydration.
 */
import { describe, expect, it } from 'vitest'
import { createSSRApp, defineComponent, h } from 'vue'
import { renderToString } from 'vue/server-renderer'
import { createAuthClient, type AuthConfig } from '../src/index.js'
import { createAuthGuard, createAuthPlugin, useAuth, type AuthPlugin } from '../src/vue.js'
import { recordUnhandledRejections } from './support/unhandled-rejections.js'

const config: AuthConfig = {
  issuer: 'https://id.example.com/oidc',
  clientId: 'client-1',
  redirectUri: 'https://app.example.com/callback',
}

const Profile = defineComponent({
  setup() {
    const { status } = useAuth()
    return () => h('p', status.value === 'loading' ? 'Loading…' : status.value)
  },
})

describe('spa-auth/vue on the server', () => {
  function render(auth: AuthPlugin): Promise<string> {
    const app = createSSRApp(Profile)
    app.use(auth)
    return renderToString(app)
  }

  it('has no browser globals here', () => {
    expect(typeof window).toBe('undefined')
    expect(typeof location).toBe('undefined')
  })

  it('installs createAuthPlugin(client) and renders loading, without touching browser globals', async () => {
    const unhandled = recordUnhandledRejections()
    const auth = createAuthPlugin(createAuthClient(config))

    expect(await render(auth)).toBe('<p>Loading…</p>')
    expect(await unhandled.after(50)).toEqual([])
    auth.client.dispose()
  })

  it('installs createAuthPlugin(config) and renders loading, without touching browser globals', async () => {
    const unhandled = recordUnhandledRejections()
    const auth = createAuthPlugin(config)

    expect(await render(auth)).toBe('<p>Loading…</p>')
    expect(await unhandled.after(50)).toEqual([])
    auth.client.dispose()
  })

  it('lets the guard pass a protected route: the browser decides after hydration', async () => {
    const unhandled = recordUnhandledRejections()
    const auth = createAuthPlugin(config)
    const guard = createAuthGuard(auth)

    await expect(guard({ fullPath: '/orders', meta: { requiresAuth: true } })).resolves.toBe(true)
    expect(await unhandled.after(50)).toEqual([])
    auth.client.dispose()
  })
})

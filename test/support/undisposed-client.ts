/**
 * A Node program for client.lifecycle.test.ts (bundled with esbuild, run as a child process):
 * starts the test provider in this process, signs in with a client on the default environment
 * (real timers, real BroadcastChannel, memory store: Node has no IndexedDB), prints the status,
 * closes the provider and returns. With the argument `dispose` it disposes the client first;
 * without, it leaves the client as an app that never disposes would. Either way the process has
 * to exit by itself.
 */
import { createAuthClient } from '../../src/index.js'
import { startTestProvider } from './provider.js'

const APP = 'http://127.0.0.1:5173'

const provider = await startTestProvider({ profile: 'strict', redirectUris: [`${APP}/callback`] })
const auth = createAuthClient(
  { issuer: provider.issuer, clientId: provider.clientId, redirectUri: `${APP}/callback` },
  // Node has no address bar: only the page's URL and navigation are supplied, the rest is the default.
  { environment: { currentUrl: () => `${APP}/`, replaceUrl: () => {}, navigate: () => {} } },
)
await auth.handleRedirectCallback(await provider.authorize(await auth.createSignInUrl({ returnTo: '/' })))
console.log(auth.getSnapshot().status)
if (process.argv.includes('dispose')) auth.dispose()
await provider.close()

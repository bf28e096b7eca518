import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vitest/config'
import { embeddedProvider } from '../../dev/embedded-provider.js'
import { PACKAGE_ALIASES } from '../../dev/package-aliases.js'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // This repository only: a provider to sign in with (set VITE_AUTH_ISSUER to use yours), and
  // 'spa-auth' from its sources. In your app, 'spa-auth' comes from node_modules.
  plugins: [react(), embeddedProvider()],
  resolve: { alias: PACKAGE_ALIASES },
  server: { host: '127.0.0.1' },
  cacheDir: '../../node_modules/.vite/example-react',
  test: { name: 'example-react', environment: 'happy-dom' },
})

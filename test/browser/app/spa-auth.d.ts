/**
 * Types for `import 'spa-auth'` in the test app. At build time Vite aliases 'spa-auth' to the
 * built dist/index.js (see ../support/app-server.ts); the type checker, which must not depend on
 * a build, reads the same API from the sources that build is made of.
 */
declare module 'spa-auth' {
  export const createAuthClient: typeof import('../../../src/index.js').createAuthClient
  export const isAuthError: typeof import('../../../src/index.js').isAuthError
}

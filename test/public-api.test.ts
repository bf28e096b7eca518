import { expect, it } from 'vitest'

it('exports exactly the documented runtime names from the package entry', async () => {
  const entry = await import('../src/index.js')

  expect(Object.keys(entry).sort()).toEqual([
    'AuthError',
    'bindAuthActions',
    'createAuthClient',
    'createMemoryStore',
    'createRedirectController',
    'isAuthError',
  ])
})

import { act, cleanup, fireEvent, render, screen } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { createTestProvider, type TestProvider } from 'spa-auth/testing'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { App } from './App'

const alice = { sub: 'alice', name: 'Alice', email: 'alice@example.com' }
let provider: TestProvider

beforeEach(() => {
  provider = createTestProvider({
    // The app's API: the provider has checked the access token it was sent, if any.
    api: (_request, access) =>
      access ? Response.json({ sub: access.sub, name: access.user.name }) : new Response(null, { status: 401 }),
  })
})

afterEach(() => {
  cleanup()
  provider.dispose()
})

function renderApp(path: string) {
  const auth = provider.createClient()
  render(
    <MemoryRouter initialEntries={[path]}>
      <App auth={auth} />
    </MemoryRouter>,
  )
  return auth
}

it('signs in from the header and shows who is signed in', async () => {
  const auth = renderApp('/')

  fireEvent.click(await screen.findByRole('button', { name: 'Sign in' }))
  await act(() => provider.completeSignIn(auth, alice))

  expect(screen.getByText(/Signed in as Alice/)).toBeTruthy()
})

it('sends a signed-out visitor of the profile to sign in, then shows what the API answers', async () => {
  const auth = renderApp('/profile')

  await act(() => provider.completeSignIn(auth, alice))

  expect(await screen.findByText('The API says you are Alice (alice).')).toBeTruthy()
  expect(provider.requests.filter((request) => request.endpoint === 'api')).toHaveLength(1)
})

it('signs out: back home, the refresh token revoked, and on to the provider to end its session', async () => {
  const auth = renderApp('/profile')
  await act(() => provider.completeSignIn(auth, alice))
  await screen.findByText(/The API says/)

  fireEvent.click(screen.getByRole('button', { name: 'Sign out' }))
  await act(() => provider.idle())

  expect(screen.getByRole('button', { name: 'Sign in' })).toBeTruthy()
  expect(screen.getByText('Welcome! Your profile is for signed-in users.')).toBeTruthy()
  expect(provider.requests.at(-1)).toMatchObject({ endpoint: 'revocation', status: 200 })
  expect(provider.navigations.at(-1)).toMatch(/^https:\/\/auth\.test\/session\/end\?/)
})

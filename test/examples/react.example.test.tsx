// src/Profile.test.tsx
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react'
import { AuthProvider, useAuth } from 'spa-auth/react'
import { createTestProvider, type TestProvider } from 'spa-auth/testing'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'

function Profile() {
  const { status, user, reason, signIn, signOut } = useAuth()
  if (status === 'loading') return <p>Loading…</p>
  if (status === 'signed-in') {
    return (
      <>
        <p>Signed in as {user.name}</p>
        <button onClick={() => void signOut()}>Sign out</button>
      </>
    )
  }
  return (
    <>
      {reason === 'refresh-rejected' && <p role="alert">Your session has ended. Please sign in again.</p>}
      <button onClick={() => void signIn()}>Sign in</button>
    </>
  )
}

const alice = { sub: 'alice', name: 'Alice', email: 'alice@example.com' }
let provider: TestProvider

beforeEach(() => {
  vi.spyOn(globalThis, 'fetch') // the provider answers in process: nothing may reach the network
  provider = createTestProvider({ accessTokenTtlSeconds: 300 })
})

afterEach(() => {
  cleanup()
  provider.dispose()
  expect(globalThis.fetch).not.toHaveBeenCalled()
  vi.restoreAllMocks()
})

/** Renders the app with a real client of the test provider, signed in as Alice. */
async function renderSignedIn() {
  const auth = provider.createClient()
  render(
    <AuthProvider client={auth}>
      <Profile />
    </AuthProvider>,
  )
  fireEvent.click(await screen.findByRole('button', { name: 'Sign in' }))
  await act(() => provider.completeSignIn(auth, alice))
  return auth
}

it('signs in and shows who is signed in', async () => {
  await renderSignedIn()

  expect(screen.getByText('Signed in as Alice')).toBeTruthy()
  expect(provider.requests.filter((request) => request.grantType === 'authorization_code')).toHaveLength(1)
})

it('refreshes once when the access token expires, and stays signed in', async () => {
  const auth = await renderSignedIn()
  const expiresAt = auth.getSnapshot().expiresAt!

  await act(() => {
    provider.expireAccessTokens()
    return provider.idle()
  })

  expect(screen.getByText('Signed in as Alice')).toBeTruthy()
  expect(provider.requests.filter((request) => request.grantType === 'refresh_token')).toHaveLength(1)
  expect(auth.getSnapshot().expiresAt).toBeGreaterThan(expiresAt)
})

it('signs out with a reason when the provider rejects the refresh', async () => {
  await renderSignedIn()
  provider.failNextRefresh('invalid_grant')

  await act(() => {
    provider.expireAccessTokens()
    return provider.idle()
  })

  expect(screen.getByRole('alert').textContent).toBe('Your session has ended. Please sign in again.')
  expect(screen.getByRole('button', { name: 'Sign in' })).toBeTruthy()
})

it('signs out: revokes the refresh token and goes to the provider to end its session', async () => {
  await renderSignedIn()

  fireEvent.click(screen.getByRole('button', { name: 'Sign out' }))
  await act(() => provider.idle())

  expect(screen.getByRole('button', { name: 'Sign in' })).toBeTruthy()
  expect(provider.requests.at(-1)).toMatchObject({ endpoint: 'revocation', status: 200 })
  expect(provider.navigations.at(-1)).toMatch(/^https:\/\/auth\.test\/session\/end\?/)
})

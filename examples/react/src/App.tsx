import { Link, Route, Routes, useNavigate } from 'react-router'
import type { AuthClient } from 'spa-auth'
import { AuthProvider, useAuth } from 'spa-auth/react'
import { Profile } from './Profile'
import { RequireAuth } from './RequireAuth'

export function App({ auth }: { auth: AuthClient }) {
  const navigate = useNavigate()
  return (
    // After the sign-in, the router (not the address bar alone) goes back to where the user was.
    <AuthProvider client={auth} onRedirectCallback={({ returnTo }) => navigate(returnTo, { replace: true })}>
      <Header />
      <main>
        <Routes>
          <Route path="/" element={<p>Welcome! Your profile is for signed-in users.</p>} />
          <Route
            path="/profile"
            element={
              <RequireAuth>
                <Profile />
              </RequireAuth>
            }
          />
          {/* The provider sends the user back here; <AuthProvider> completes the sign-in. */}
          <Route path="/callback" element={null} />
        </Routes>
      </main>
    </AuthProvider>
  )
}

function Header() {
  const { status, user, callbackError, signIn, signOut } = useAuth()
  const navigate = useNavigate()
  return (
    <header>
      <nav>
        <Link to="/">Home</Link> · <Link to="/profile">Profile</Link>
      </nav>
      {callbackError && <p role="alert">{callbackError.message}</p>}
      {status === 'loading' && <p>Loading…</p>}
      {status === 'signed-out' && <button onClick={() => void signIn()}>Sign in</button>}
      {status === 'signed-in' && (
        <p>
          Signed in as {user.name ?? user.sub}{' '}
          <button
            onClick={() => {
              // Leave the protected page first, or it would start a new sign-in.
              void navigate('/')
              void signOut()
            }}
          >
            Sign out
          </button>
        </p>
      )}
    </header>
  )
}

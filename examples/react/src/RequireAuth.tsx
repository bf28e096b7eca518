import { useEffect, useState, type ReactNode } from 'react'
import { useAuth } from 'spa-auth/react'

/** Renders `children` for a signed-in user; sends anyone else to sign in, and back here after. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { status, signIn } = useAuth()
  const [error, setError] = useState<Error | null>(null)

  useEffect(() => {
    if (status === 'signed-out') signIn().catch(setError) // returnTo: this page
  }, [status, signIn])

  if (error) return <p role="alert">{error.message}</p>
  return status === 'signed-in' ? children : <p>Loading…</p>
}

import { useEffect, useState } from 'react'
import { useAuth } from 'spa-auth/react'

interface ApiProfile {
  sub: string
  name: string
}

/** What the API knows about the user: `auth.fetch` sends the access token, refreshed when due. */
export function Profile() {
  const auth = useAuth()
  const [profile, setProfile] = useState<ApiProfile | null>(null)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    let current = true
    auth
      .fetch('/api/profile')
      .then(async (response) => {
        if (!response.ok) throw new Error(`The API answered ${response.status}.`)
        const body = (await response.json()) as ApiProfile
        if (current) setProfile(body)
      })
      .catch((failure: unknown) => current && setError(String(failure)))
    return () => void (current = false)
  }, [auth.fetch])

  if (error) return <p role="alert">{error}</p>
  if (!profile) return <p>Asking the API…</p>
  return (
    <section>
      <h1>Profile</h1>
      <p>
        The API says you are {profile.name} ({profile.sub}).
      </p>
    </section>
  )
}

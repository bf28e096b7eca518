/** The embedded provider's issuer, set by vite.config.ts. */
declare const __DEV_ISSUER__: string

interface ImportMetaEnv {
  readonly VITE_AUTH_ISSUER?: string
  readonly VITE_AUTH_CLIENT_ID?: string
}

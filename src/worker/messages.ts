/**
 * The messages between a page and the refresh worker. Both sides may come from different deploys
 * (the worker outlives pages), so every message carries the protocol version, and a page only
 * connects to a worker of its own version: the SharedWorker's name and the service worker's scope
 * carry it too.
 */
import { errorData, reviveAuthError, type AuthError, type AuthErrorData } from '../platform/errors.js'
import type { AuthConfig, ResolvedConfig } from '../protocol/config.js'
import type { RefreshOutcome, RefreshRequest } from '../session/refresh.js'

/**
 * The version of these messages; the SharedWorker's name and the service worker's scope
 * (`spa-auth-refresh@<version>`) say the same.
 */
export const WORKER_PROTOCOL = 2

/** A page asks for one refresh, with its own configuration as plain data (the worker keeps none). */
export interface WorkerRequest {
  v: number
  id: number
  config: AuthConfig
  request: RefreshRequest
}

/** {@link RefreshOutcome} with its errors as data. */
export type WireOutcome = RefreshOutcome extends infer O
  ? O extends unknown
    ? {
        [K in keyof O]: O[K] extends AuthError
          ? AuthErrorData
          : O[K] extends AuthError | undefined
            ? AuthErrorData | undefined
            : O[K]
      }
    : never
  : never

/**
 * The worker's answer: the outcome; or the failure that kept it from running the refresh (the
 * page then runs it itself); or `mismatch` when the page speaks another version.
 */
export type WorkerAnswer =
  | { v: number; id: number; outcome: WireOutcome }
  | { v: number; id: number; failed: AuthErrorData }
  | { v: number; id: number; mismatch: true }

export function toWire(outcome: RefreshOutcome): WireOutcome {
  switch (outcome.kind) {
    case 'adopted':
      return outcome
    case 'refreshed':
      return { ...outcome, storageError: outcome.storageError && errorData(outcome.storageError) }
    case 'failed':
    case 'refused':
    case 'ended':
    case 'interrupted':
      return { ...outcome, error: errorData(outcome.error) } as WireOutcome
  }
}

export function fromWire(outcome: WireOutcome): RefreshOutcome {
  const error = reviveAuthError
  switch (outcome.kind) {
    case 'adopted':
      return outcome
    case 'refreshed':
      return { ...outcome, storageError: outcome.storageError && error(outcome.storageError) }
    case 'failed':
    case 'refused':
    case 'ended':
    case 'interrupted':
      return { ...outcome, error: error(outcome.error) } as RefreshOutcome
  }
}

/**
 * The resolved configuration as the {@link AuthConfig} that resolves to it, built from plain values
 * only (no proxies, no functions, nothing unknown): what a page sends its refresh worker.
 */
export function plainConfig(config: ResolvedConfig): AuthConfig {
  const apis = config.apiOrigins && [...config.apiOrigins]
  const plain: AuthConfig = {
    issuer: config.issuerIdentifier,
    clientId: config.clientId,
    redirectUri: config.redirectUri,
    refreshLeewaySeconds: config.refreshLeewaySeconds,
    authorizeParams: { ...config.authorizeParams },
    requestTimeoutMs: config.requestTimeoutMs,
    dpop: config.dpop,
    resourceParameter: config.resourceParameter,
    par: config.par,
    endpoints: { ...config.endpoints },
    clockToleranceSeconds: config.clockToleranceSeconds,
    refreshIn: config.refreshIn,
  }
  if (!config.scopeIsDefault) plain.scope = config.scope
  if (config.postLogoutRedirectUri !== undefined) plain.postLogoutRedirectUri = config.postLogoutRedirectUri
  if (apis !== undefined) {
    plain.apiOrigins = apis.every(([, resource]) => resource === undefined)
      ? apis.map(([origin]) => origin)
      : Object.fromEntries(apis.map(([origin, resource]) => [origin, resource ?? '']))
  }
  return plain
}

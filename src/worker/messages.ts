/**
 * The messages between a page and the refresh worker. Both sides may come from different deploys
 * (the worker outlives pages), so every message carries the protocol version, and a page only
 * connects to a worker of its own version: the SharedWorker's name and the service worker's scope
 * carry it too.
 */
import { AuthError, type AuthErrorCode } from '../platform/errors.js'
import type { AuthConfig } from '../protocol/config.js'
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

/** An {@link AuthError} as data, for the trip between page and worker. */
export interface ErrorData {
  code: AuthErrorCode
  message: string
}

/** {@link RefreshOutcome} with its errors as data. */
export type WireOutcome = RefreshOutcome extends infer O
  ? O extends unknown
    ? {
        [K in keyof O]: O[K] extends AuthError
          ? ErrorData
          : O[K] extends AuthError | undefined
            ? ErrorData | undefined
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
  | { v: number; id: number; failed: ErrorData }
  | { v: number; id: number; mismatch: true }

export function toErrorData(error: AuthError): ErrorData {
  return { code: error.code, message: error.message }
}

export function toWire(outcome: RefreshOutcome): WireOutcome {
  switch (outcome.kind) {
    case 'adopted':
      return outcome
    case 'refreshed':
      return { ...outcome, storageError: outcome.storageError && toErrorData(outcome.storageError) }
    case 'failed':
    case 'refused':
    case 'ended':
    case 'interrupted':
      return { ...outcome, error: toErrorData(outcome.error) } as WireOutcome
  }
}

export function fromWire(outcome: WireOutcome): RefreshOutcome {
  const error = (data: ErrorData) => new AuthError(data.code, data.message)
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

/**
 * The page's side of the refresh service worker, where no SharedWorker outlives its pages (Firefox,
 * Safari): the library's own service worker, registered under a scope of its own that no app page
 * lives under (`spa-auth-refresh@<version>/` beside its script), so it controls no page and touches
 * nothing of the app's own service worker. Each request goes with a MessagePort for the answer; the
 * worker keeps itself alive until the refresh is committed, however soon the page goes away.
 */
import type {
  HostEnvironment,
  ServiceWorkerContainerLike,
  ServiceWorkerLike,
  ServiceWorkerRegistrationLike,
  WorkerConnection,
} from '../platform/environment.js'
import { WORKER_PROTOCOL } from './messages.js'

/**
 * Registers the refresh service worker with `container` (or finds it registered) and connects to
 * it once it is activated. The connection reports an error when the registration fails (a policy,
 * a CSP without `worker-src`, a script that does not load) or the worker is not activated within
 * `activationTimeoutMs`; requests are then never sent, and the page refreshes itself.
 */
export function openServiceWorker(
  container: ServiceWorkerContainerLike,
  options: Pick<HostEnvironment, 'setTimeout' | 'clearTimeout'> & { activationTimeoutMs: number },
): WorkerConnection {
  const messages = new Set<(message: unknown) => void>()
  const errors = new Set<() => void>()
  const ports = new Set<MessagePort>()
  let failed = false
  let closed = false
  const fail = () => {
    if (failed || closed) return
    failed = true
    for (const listener of [...errors]) listener()
  }
  const registration = activated(register(container), options)
  registration.catch(fail)

  function send(message: unknown, worker: ServiceWorkerLike | null): void {
    if (closed) return
    if (worker === null) return fail()
    const channel = new MessageChannel()
    const port = channel.port1
    ports.add(port)
    port.onmessage = (event: MessageEvent) => {
      ports.delete(port)
      port.close()
      for (const listener of [...messages]) listener(event.data)
    }
    worker.postMessage(message, [channel.port2])
  }

  return {
    postMessage(message) {
      // Cloned now, as a MessagePort does: what cannot be cloned throws here, and this page refreshes itself.
      const copy = structuredClone(message)
      // The registration's active worker when sent: a newer deploy's script may have taken over.
      void registration.then((ready) => send(copy, ready.active), fail)
    },
    onMessage(listener) {
      const entry = (message: unknown) => listener(message)
      messages.add(entry)
      return () => void messages.delete(entry)
    },
    onError(listener) {
      const entry = () => listener()
      errors.add(entry)
      if (failed) queueMicrotask(entry)
      return () => void errors.delete(entry)
    },
    close() {
      closed = true
      for (const port of ports) port.close()
      ports.clear()
      messages.clear()
      errors.clear()
    },
  }
}

/**
 * Registers the classic script the library build emits beside this chunk. Kept as one expression
 * with a literal path, so the app's bundler (Vite, webpack 5) finds the file and copies it with the
 * app (see vite.config.ts); in source there is no such script, the registration fails, and the page
 * refreshes itself. The scope carries WORKER_PROTOCOL: a page never talks to a worker of another
 * version, and an update to the script of one version replaces it at once.
 */
function register(container: ServiceWorkerContainerLike): Promise<ServiceWorkerRegistrationLike> {
  const script = new URL('./refresh-service-worker.js', import.meta.url)
  const scope = new URL(`./spa-auth-refresh@${WORKER_PROTOCOL}/`, script).href
  try {
    return container.register(script, { type: 'classic', scope, updateViaCache: 'none' })
  } catch (error) {
    return Promise.reject(error)
  }
}

/** Resolves `registering` once its newest worker is activated; rejects if it fails or takes longer than allowed. */
function activated(
  registering: Promise<ServiceWorkerRegistrationLike>,
  { activationTimeoutMs, setTimeout, clearTimeout }: Parameters<typeof openServiceWorker>[1],
): Promise<ServiceWorkerRegistrationLike> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('The refresh service worker was not activated in time.')),
      activationTimeoutMs,
    )
    registering
      .then(untilActivated)
      .then(resolve, reject)
      .finally(() => clearTimeout(timer))
  })
}

/**
 * Waits for the registration's newest worker (a new deploy's script installing, or the one already
 * active) to be activated; not `navigator.serviceWorker.ready`, which waits for a worker that
 * controls this page, and this one never does.
 */
function untilActivated(registration: ServiceWorkerRegistrationLike): Promise<ServiceWorkerRegistrationLike> {
  const newest = registration.installing ?? registration.waiting ?? registration.active
  if (newest === null) return Promise.reject(new Error('The refresh service worker registration has no worker.'))
  return new Promise((resolve, reject) => {
    const check = () => {
      if (newest.state !== 'activated' && newest.state !== 'redundant') return
      newest.removeEventListener('statechange', check)
      if (newest.state === 'activated') resolve(registration)
      else reject(new Error('The refresh service worker failed to install.'))
    }
    newest.addEventListener('statechange', check)
    check()
  })
}

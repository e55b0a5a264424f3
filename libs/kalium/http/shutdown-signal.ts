import type Koa from 'koa';
import type { Context } from 'koa';

const signals = new WeakMap<Koa, AbortSignal>();

/** Ties an api's "shutting down" signal to its Koa app, for routes that hold a request open. */
export function setShutdownSignal(koa: Koa, signal: AbortSignal): void {
  signals.set(koa, signal);
}

/**
 * Aborts when the api serving `ctx` starts shutting down (SPEC §17): a long-poll answers what it
 * holds, an event stream says `shutdown` and ends, rather than being cut at SHUTDOWN_TIMEOUT_MS.
 * Undefined for a Koa app no server drains.
 */
export function shutdownSignal(ctx: Context): AbortSignal | undefined {
  return signals.get(ctx.app);
}

/**
 * Aborts when the client goes away or the api starts shutting down, whichever comes first. (Not
 * `AbortSignal.any`: each held request would leave a listener on the api-long shutdown signal.)
 */
export function heldRequestSignal(ctx: Context): AbortSignal {
  const controller = new AbortController();
  const abort = () => controller.abort();
  const shutdown = shutdownSignal(ctx);
  shutdown?.addEventListener('abort', abort, { once: true });
  if (shutdown?.aborted) abort();
  ctx.res.once('close', () => {
    shutdown?.removeEventListener('abort', abort);
    abort();
  });
  return controller.signal;
}

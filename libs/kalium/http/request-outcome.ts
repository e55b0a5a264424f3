import type { Context, Next } from 'koa';
import { toKaliumError } from './error-handler.ts';

/** How one request ended, as metrics and the request log see it. */
export interface RequestOutcome {
  /** The route pattern that answered (`/jobs/:id`), or `unmatched`: never the raw path. */
  route: string;
  method: string;
  status: number;
  durationMs: number;
}

/**
 * The label for the route that answered. Parts that answer a whole subtree (the dashboard) set
 * `ctx.state.routeLabel`; otherwise @koa/router's matched pattern; else `unmatched` (404, 405), so
 * a scan of random paths cannot grow the label set without bound.
 */
export function routeLabel(ctx: Context): string {
  const label: unknown = ctx.state.routeLabel ?? (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return typeof label === 'string' ? label : 'unmatched';
}

/** Something told how each request ended (the request log, the http metrics). */
export type OutcomeReporter = (ctx: Context, outcome: RequestOutcome) => void;

/**
 * One middleware that times each request once and tells every reporter how it ended: one clock read
 * and one try/finally per request, however many things watch.
 */
export function observeRequests(reporters: OutcomeReporter[]): (ctx: Context, next: Next) => Promise<void> {
  // No closure per request: the reporters are called from here with the context.
  return async function observe(ctx, next) {
    const started = performance.now();
    let status: number | undefined;
    try {
      await next();
    } catch (error) {
      status = toKaliumError(error).status;
      throw error;
    } finally {
      const outcome: RequestOutcome = { route: routeLabel(ctx), method: ctx.method, status: status ?? ctx.status, durationMs: performance.now() - started };
      for (const report of reporters) report(ctx, outcome);
    }
  };
}

import Router from '@koa/router';
import type { Middleware } from 'koa';
import { observeRequest } from '../http/request-outcome.ts';
import type { ApiPart } from '../http/server.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Metrics } from './metrics.ts';

/**
 * `GET /metrics` (Prometheus text) and the middleware counting every request by route pattern,
 * method and status, with its latency. Left open like the health routes: scrapers carry no key, and
 * it is meant for the cluster's network, not the public one (see docs/readme/operations.md).
 */
export function metricsPart(runtime: Runtime): ApiPart {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    const { contentType, body } = await runtime.metrics.render();
    ctx.type = contentType;
    ctx.body = body;
  });
  return { middleware: [httpMetrics(runtime.metrics)], router };
}

/** Records `kalium_http_requests_total` and `kalium_http_request_duration_seconds` for each request. */
export function httpMetrics(metrics: Metrics): Middleware {
  return function recordHttpMetrics(ctx, next) {
    return observeRequest(ctx, next, ({ route, method, status, durationMs }) => {
      metrics.httpRequests.inc({ route, method, status: String(status) });
      metrics.httpDuration.observe({ route, method }, durationMs / 1000);
    });
  };
}

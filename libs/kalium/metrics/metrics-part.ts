import { requestLog } from '../log/request-log.ts';
import { observeRequests, type OutcomeReporter } from '../http/request-outcome.ts';
import type { ApiPart } from '../http/server.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Metrics } from './metrics.ts';

/**
 * `GET /metrics` (Prometheus text), and the outermost middleware, which times every request (401s
 * included) for the http metrics and the request log. /metrics is left open like the health routes:
 * scrapers carry no key, and it is meant for the cluster's network, not the public one (README, Operations).
 */
export function metricsPart(runtime: Runtime): ApiPart {
  return {
    middleware: [observeRequests([requestLog(runtime.logger), httpMetrics(runtime.metrics)])],
    routes(router) {
      router.get('/metrics', async (ctx) => {
        const { contentType, body } = await runtime.metrics.render();
        ctx.type = contentType;
        ctx.body = body;
      });
    },
  };
}

/**
 * Records `kalium_http_requests_total` and `kalium_http_request_duration_seconds` for each request.
 * prom-client hashes a label object on every call; the label sets are few (route patterns × methods ×
 * statuses, all bounded), so each set's children are looked up once and kept.
 */
export function httpMetrics(metrics: Metrics): OutcomeReporter {
  // route → method → status: three lookups and no key string built per request.
  const children = new Map<string, Map<string, Map<number, Child>>>();
  return (_ctx, { route, method, status, durationMs }) => {
    let byMethod = children.get(route);
    if (!byMethod) children.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let child = byStatus.get(status);
    if (!child) {
      child = {
        count: metrics.httpRequests.labels({ route, method, status: String(status) }),
        time: metrics.httpDuration.labels({ route, method }),
      };
      byStatus.set(status, child);
    }
    child.count.inc();
    child.time.observe(durationMs / 1000);
  };
}

interface Child {
  count: { inc(): void };
  time: { observe(seconds: number): void };
}

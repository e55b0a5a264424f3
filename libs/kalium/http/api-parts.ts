import { metricsPart } from '../metrics/metrics-part.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { adminDashboardPart } from './admin-dashboard.ts';
import { apiKeyPart } from './api-key-auth.ts';
import { jobWebhookHooks } from '../webhook/job-webhook-hooks.ts';
import { jobsApiPart } from './jobs-part.ts';
import { openApiPart } from './openapi-part.ts';
import type { ApiPart } from './server.ts';

/**
 * The parts that make up the full api, in middleware order. One list, used by `kalium api` and by the
 * tests, so both serve the same thing.
 */
export function apiParts(runtime: Runtime): ApiPart[] {
  return [
    metricsPart(runtime), // outermost: logs and counts every request, 401s included
    apiKeyPart(runtime.config),
    adminDashboardPart(runtime),
    jobsApiPart(runtime, [jobWebhookHooks(runtime)]),
    openApiPart(runtime),
  ];
}

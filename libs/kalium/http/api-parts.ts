import type { Runtime } from '../runtime/runtime.ts';
import { jobsApiPart } from './jobs-part.ts';
import { jobWebhookHooks } from '../webhook/job-webhook-hooks.ts';
import type { ApiPart } from './server.ts';

/**
 * The parts that make up the full api, in middleware order. One list, used by `kalium api` and by the
 * tests, so both serve the same thing.
 */
export function apiParts(runtime: Runtime): ApiPart[] {
  return [jobsApiPart(runtime, [jobWebhookHooks(runtime)])];
}

import type { Context } from 'koa';
import { Request } from '../app/request.ts';
import type { BackgroundRoute } from '../app/routes.ts';
import { errors } from '../errors/kalium-error.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { isIdempotencyKey } from '../queue/job-ids.ts';
import { jobPolicy } from '../queue/job-policy.ts';
import { validateInput } from '../schema/validate-input.ts';
import { flattenHeaders } from './handler-route.ts';
import { readBody } from './read-body.ts';

/** Headers never written into a job (they would sit in Redis for RESULT_TTL). */
const SECRET_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/** SPEC's answer to an accepted (202) or repeated (200) background request. */
export interface AcceptedBody {
  success: true;
  started: true;
  id: string;
  status: 'queued';
  status_url: string;
}

/**
 * The Koa middleware of one background route: the request becomes a job, in Redis before the answer.
 * 202 with the job's id; 200 with the same body when an Idempotency-Key finds the job it made before.
 */
export function backgroundRoute(route: BackgroundRoute, jobs: JobQueue, bodyLimit: number) {
  return async function submitJob(ctx: Context): Promise<void> {
    ctx.set('X-Endpoint-Type', 'background');
    const key = idempotencyKey(ctx);
    const policy = jobPolicy(ctx.headers, route.policy); // a bad Cancel-After or X-Priority is a 400, nothing queued
    const parsed = await readBody(ctx, bodyLimit);
    // Before the job exists: an invalid body is the caller's 422 now, not a failed job later. The job
    // keeps the body as sent; the worker runs the schema again for the handler (route-validation.ts).
    if (route.input) await validateInput(route.input, parsed.json);
    const headers = flattenHeaders(ctx.headers);
    for (const name of SECRET_HEADERS) delete headers[name];
    const request = new Request({
      id: String(ctx.state.requestId),
      path: ctx.path,
      method: ctx.method,
      headers,
      query: ctx.query as Record<string, string | string[]>,
      json: parsed.json,
      body: parsed.body,
    });
    const { id, created } = await jobs.submit(route, request, key, policy);
    const body: AcceptedBody = { success: true, started: true, id, status: 'queued', status_url: `/jobs/${id}` };
    ctx.status = created ? 202 : 200;
    ctx.set('Location', body.status_url);
    ctx.body = body;
  };
}

function idempotencyKey(ctx: Context): string | undefined {
  const key = ctx.get('idempotency-key');
  if (key === '') return undefined;
  if (!isIdempotencyKey(key)) throw errors.badRequest('Idempotency-Key must be 1 to 255 visible ASCII characters.');
  return key;
}

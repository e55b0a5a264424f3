import type { Context } from 'koa';
import { Request } from '../app/request.ts';
import type { BackgroundRoute } from '../app/routes.ts';
import { errors } from '../errors/kalium-error.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { isIdempotencyKey } from '../queue/job-ids.ts';
import { jobPolicy } from '../queue/job-policy.ts';
import { validateInput } from '../schema/validate-input.ts';
import { readBody } from './read-body.ts';

/** Headers never written into a job (they would sit in Redis for RESULT_TTL). */
const SECRET_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization']);

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
    // Node's own header calls: Koa's ctx.get and ctx.set cost more, on every submit.
    ctx.res.setHeader('X-Endpoint-Type', 'background');
    const key = idempotencyKey(ctx.req.headers['idempotency-key']);
    const policy = jobPolicy(ctx.req.headers, route.policy); // a bad Cancel-After or X-Priority is a 400, nothing queued
    const parsed = await readBody(ctx, bodyLimit);
    // Before the job exists: an invalid body is the caller's 422 now, not a failed job later. The job
    // keeps the body as sent; the worker runs the schema again for the handler (route-validation.ts).
    if (route.input) await validateInput(route.input, parsed.json);
    const request = new Request({
      id: String(ctx.state.requestId),
      path: ctx.path,
      method: ctx.method,
      headers: jobHeaders(ctx.req.headers),
      query: ctx.query as Record<string, string | string[]>,
      json: parsed.json,
      body: parsed.body,
    });
    const { id, created } = await jobs.submit(route, request, key, policy);
    const body: AcceptedBody = { success: true, started: true, id, status: 'queued', status_url: `/jobs/${id}` };
    ctx.status = created ? 202 : 200;
    ctx.res.setHeader('Location', body.status_url);
    ctx.body = body;
  };
}

/** Node joins a repeated Idempotency-Key's values into one string (only Set-Cookie comes as an array). */
function idempotencyKey(key: string | string[] | undefined): string | undefined {
  if (typeof key !== 'string' || key === '') return undefined;
  if (!isIdempotencyKey(key)) throw errors.badRequest('Idempotency-Key must be 1 to 255 visible ASCII characters.');
  return key;
}

/**
 * The request's headers as a job keeps them: flattened (a repeated header's values joined with `, `),
 * secrets left out. Left out while copying, not deleted after: `delete` turns the object into a slow
 * dictionary that BullMQ then stringifies.
 */
function jobHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !SECRET_HEADERS.has(name)) kept[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return kept;
}

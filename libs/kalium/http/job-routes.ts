import type Router from '@koa/router';
import { errors } from '../errors/kalium-error.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { waitForJob } from '../queue/job-wait.ts';
import type { JobWatcher } from '../queue/job-watcher.ts';
import { streamJobEvents } from './job-event-stream.ts';
import { heldRequestSignal } from './shutdown-signal.ts';

/** Longest `?wait=` a status request may hold, in seconds (SPEC §4). */
export const MAX_WAIT_SECONDS = 60;

/** `GET /jobs/:id` (with `?wait=N`), `GET /jobs/:id/events`, `DELETE /jobs/:id`. */
export function jobRoutes(router: Router, jobs: JobQueue, watcher: JobWatcher): void {
  router.get('/jobs/:id', async (ctx) => {
    const id = String(ctx.params.id);
    const waitMs = parseWait(ctx.query.wait) * 1000;
    // A long-poll ends early when the client leaves or the api shuts down: then it answers the job as it is.
    const body = waitMs > 0 ? await waitForJob(jobs, watcher, id, waitMs, heldRequestSignal(ctx)) : await jobs.read(id);
    if (!body) throw errors.jobNotFound(id);
    ctx.body = body;
  });

  router.get('/jobs/:id/events', (ctx) => streamJobEvents(ctx, jobs, watcher));

  router.delete('/jobs/:id', async (ctx) => {
    ctx.body = await jobs.cancel(String(ctx.params.id));
  });
}

/** `?wait=N`: seconds, 0 to 60, decimals allowed; absent is 0. */
export function parseWait(value: unknown): number {
  if (value === undefined) return 0;
  const seconds = typeof value === 'string' && /^\d{1,3}(\.\d{1,3})?$/.test(value) ? Number(value) : NaN;
  if (!(seconds >= 0 && seconds <= MAX_WAIT_SECONDS)) {
    throw errors.badRequest(`wait must be a number of seconds from 0 to ${MAX_WAIT_SECONDS}, got ${JSON.stringify(value)}.`);
  }
  return seconds;
}

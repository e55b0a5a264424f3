import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import { toKaliumError } from './error-handler.ts';
import { errors } from '../errors/kalium-error.ts';
import { onBackend } from '../queue/backend-call.ts';
import { isFinished, type JobBody } from '../queue/job-body.ts';
import { isJobId } from '../queue/job-ids.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import type { JobSubscription, JobWatcher } from '../queue/job-watcher.ts';
import { heldRequestSignal, shutdownSignal } from './shutdown-signal.ts';

/** A comment line this often keeps proxies from closing a quiet stream. */
const KEEP_ALIVE_MS = 15_000;

/**
 * `GET /jobs/:id/events`: Server-Sent Events. A `progress` event with the job's progress, one more at
 * each change, then the job's end (`succeeded`, `failed` or `canceled`, its data the job's body),
 * then the stream ends. A job that has already ended gets just its end. A streaming job's chunks are
 * `output` events (data: index and chunk), every one from the first (a late subscriber gets them all,
 * read from the job's output stream), always before its end. A job run again (a retry, a worker lost)
 * streams again from index 0, those events carrying its `attempt` too (2, 3, …). When the api shuts down
 * first, the stream gets `event: shutdown` (data: the job's id and progress) and ends, so the client
 * knows to reconnect (to another api) rather than see a cut connection.
 */
export async function streamJobEvents(ctx: Context, jobs: JobQueue, watcher: JobWatcher): Promise<void> {
  const id = String(ctx.params.id);
  if (!isJobId(id)) throw errors.invalidJobId(id);
  const subscription = watcher.subscribe(id);
  let first: JobBody | undefined;
  try {
    await onBackend(() => subscription.ready);
    first = await jobs.read(id);
  } catch (error) {
    subscription.close();
    throw error;
  }
  if (!first) {
    subscription.close();
    throw errors.jobNotFound(id);
  }
  const stream = new PassThrough();
  const held = heldRequestSignal(ctx);
  const shutdown = shutdownSignal(ctx);
  ctx.status = 200;
  ctx.type = 'text/event-stream';
  ctx.set('Cache-Control', 'no-cache');
  ctx.set('X-Accel-Buffering', 'no'); // nginx: do not buffer the stream
  ctx.body = stream;
  void pump(stream, first, { jobs, id, subscription, held, shutdown }).finally(() => {
    subscription.close();
    stream.end();
  });
}

async function pump(
  stream: PassThrough,
  first: JobBody,
  {
    jobs,
    id,
    subscription,
    held,
    shutdown,
  }: { jobs: JobQueue; id: string; subscription: JobSubscription; held: AbortSignal; shutdown: AbortSignal | undefined },
): Promise<void> {
  let body: JobBody | undefined = first;
  let progress = body.progress;
  let cursor: string | undefined;
  // Chunks are read from the job's stream, not taken from notices: a lost notice delays them, no more.
  const sendOutput = async () => {
    for (const { index, chunk, attempt, cursor: next } of await jobs.output(id, cursor)) {
      send(stream, 'output', attempt > 1 ? { index, chunk, attempt } : { index, chunk });
      cursor = next;
    }
  };
  if (!isFinished(body.status)) send(stream, 'progress', { id, progress });
  try {
    if (body.output || !isFinished(body.status)) await sendOutput();
  } catch (error) {
    sendError(stream, error);
    return;
  }
  while (body && !isFinished(body.status)) {
    if (shutdown?.aborted) {
      send(stream, 'shutdown', { id, progress, message: 'The api is shutting down; reconnect to follow the job.' });
      return;
    }
    if (!(await subscription.wait(KEEP_ALIVE_MS, held))) {
      if (shutdown?.aborted) continue;
      if (held.aborted) return; // the client left
      stream.write(': keep-alive\n\n');
      continue;
    }
    let reread = false;
    let outputs = false;
    for (const notice of subscription.drain()) {
      if (notice?.type === 'progress' && notice.progress !== progress) {
        progress = notice.progress;
        send(stream, 'progress', { id, progress });
      } else if (notice?.type === 'output') {
        outputs = true;
      } else if (notice?.type !== 'progress') {
        reread = true;
      }
    }
    if (!reread && !outputs) continue;
    try {
      if (outputs) await sendOutput();
      if (!reread) continue;
      body = await jobs.read(id);
      // Every chunk is in Redis before the result that ends the job: the last ones go before the end.
      if (body && isFinished(body.status)) await sendOutput();
    } catch (error) {
      sendError(stream, error);
      return;
    }
  }
  if (body) send(stream, body.status, body);
}

/** A read that failed mid-stream (Redis away): an `error` event in kalium's shape, then the end. */
function sendError(stream: PassThrough, error: unknown): void {
  const failure = toKaliumError(error);
  send(stream, 'error', { error: { code: failure.code, message: failure.message } });
}

function send(stream: PassThrough, event: string, data: unknown): void {
  stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

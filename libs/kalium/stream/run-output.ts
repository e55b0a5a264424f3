import { announce, anyListens } from '../queue/job-hooks.ts';
import type { JobRun, RunDeps } from '../worker/job-run.ts';
import { bodyOfRun } from '../worker/job-run.ts';
import { DEFAULT_MAX_OUTPUT_BYTES, JobOutputWriter } from './job-output.ts';
import { OutputWebhookThrottle } from './output-webhook.ts';

/**
 * Whether a handler's answer streams: any async iterable (an async generator, or what a bridge such
 * as the Python one hands over), except a string-like or Node stream's bytes are not special-cased:
 * whatever `Symbol.asyncIterator` yields is a chunk.
 */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

/**
 * A background handler's result (SPEC §14): a plain value as it is; an async iterable is drained, each
 * chunk written to the job's output stream (and batched to its `output` webhook) as it comes, and the
 * result is the generator's return value, or the list of chunks when it returns nothing. The iterator
 * is closed (`return()`, so a generator's `finally` runs) when the job is aborted or passes its cap.
 */
export async function resultOf(value: unknown, run: JobRun, maxBytes: number | undefined, deps: RunDeps): Promise<unknown> {
  if (!isAsyncIterable(value)) return value;
  const writer = new JobOutputWriter(deps.redis, deps.keys, run.id, {
    ttlSeconds: deps.config.resultTtl,
    maxBytes: maxBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    attempt: run.job.attemptsStarted,
  });
  const throttle = webhookThrottle(run, deps);
  const iterator = value[Symbol.asyncIterator]();
  let returned: unknown;
  try {
    for (;;) {
      const step = await iterator.next();
      if (run.controller.aborted) throw run.controller.reason;
      if (step.done) {
        returned = step.value;
        break;
      }
      const index = writer.push(step.value);
      throttle?.add(index, step.value);
    }
  } catch (error) {
    await Promise.resolve(iterator.return?.()).catch(() => undefined);
    throw error;
  } finally {
    await throttle?.end();
  }
  await writer.settled();
  return returned === undefined ? writer.chunks : returned;
}

/** The job's `output` webhook batches, when a hook listens to this job at all. */
function webhookThrottle(run: JobRun, deps: RunDeps): OutputWebhookThrottle | undefined {
  const { job } = run;
  const extra = job.data.extra;
  if (!anyListens(deps.hooks, extra)) return undefined;
  // The payload is the job's body with `output` the chunks since the last delivery, from `output_index` on.
  const bodyWith = (chunks: unknown[], first: number) => {
    const body = { ...bodyOfRun(job, { status: 'running' }, run.losses), output: chunks, output_index: first };
    return body;
  };
  return new OutputWebhookThrottle((chunks, first) => announce(deps.hooks, deps.logger, 'output', () => bodyWith(chunks, first), extra));
}

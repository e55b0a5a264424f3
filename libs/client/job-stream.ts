import { KaliumClientError } from './client-error.ts';
import type { JobEvent } from './job-types.ts';

/** How often `stream` follows a job again after its api shut down mid-stream. */
const MAX_RECONNECTS = 5;

/**
 * The chunks of a streaming job (SPEC §14), from the first, as an async iterator: the `output` events
 * of its event stream. Every subscriber gets every chunk from index 0, so following the job again
 * after an api shuts down (`event: shutdown`) skips what was seen by index and misses nothing. A job
 * run again (a retry) streams again from its first chunk: those follow the earlier run's (`events()`
 * tells the runs apart by `attempt`).
 * Ends when the job succeeds; throws KaliumClientError when it fails (`job_failed`) or is canceled
 * (`deadline_exceeded` at its deadline, else `job_canceled`), with the job's body.
 */
export async function* streamChunks<T>(events: (attempt: number) => AsyncIterable<JobEvent>): AsyncGenerator<T, void, undefined> {
  let next = 0;
  let run = 0;
  for (let attempt = 0; attempt <= MAX_RECONNECTS; attempt++) {
    let shutdown = false;
    for await (const { event, data } of events(attempt)) {
      if (event === 'output') {
        const { index, chunk, attempt = 1 } = data as { index: number; chunk: T; attempt?: number };
        if (attempt > run) [run, next] = [attempt, 0];
        if (attempt < run || index < next) continue;
        next = index + 1;
        yield chunk;
      } else if (event === 'succeeded') {
        return;
      } else if (event === 'failed' || event === 'canceled') {
        throw endError(event, data as { id?: string; error?: unknown; error_code?: string });
      } else if (event === 'shutdown') {
        shutdown = true;
      }
    }
    if (!shutdown) throw new KaliumClientError('stream_ended', 0, 'The job’s event stream ended before the job did.');
  }
  throw new KaliumClientError('stream_ended', 0, `The job’s event stream was cut ${MAX_RECONNECTS + 1} times by api shutdowns.`);
}

function endError(event: 'failed' | 'canceled', job: { id?: string; error?: unknown; error_code?: string }): KaliumClientError {
  const code = event === 'failed' ? 'job_failed' : job.error_code === 'deadline_exceeded' ? 'deadline_exceeded' : 'job_canceled';
  const message = typeof job.error === 'string' ? job.error : `job ${job.id ?? ''} ${event}`;
  return new KaliumClientError(code, 0, message, { body: job });
}

import { isFinished, type JobBody } from './job-body.ts';
import type { JobQueue } from './job-queue.ts';
import type { JobWatcher } from './job-watcher.ts';
import { errors } from '../errors/kalium-error.ts';
import { onBackend } from './backend-call.ts';
import { isJobId } from './job-ids.ts';

/**
 * The job's body once it has ended, or as it is after `ms`: a long-poll that reads the job again only
 * when a notice about it arrives (its channel subscribed before the first read), never on a timer.
 * Undefined when the job is unknown or expired.
 */
export async function waitForJob(jobs: JobQueue, watcher: JobWatcher, id: string, ms: number, signal: AbortSignal): Promise<JobBody | undefined> {
  if (ms <= 0) return jobs.read(id);
  const deadline = Date.now() + ms;
  if (!isJobId(id)) throw errors.invalidJobId(id);
  const subscription = watcher.subscribe(id);
  try {
    await onBackend(() => subscription.ready);
    for (;;) {
      const body = await jobs.read(id);
      const left = deadline - Date.now();
      if (!body || isFinished(body.status) || left <= 0 || signal.aborted) return body;
      await subscription.wait(left, signal);
      subscription.drain();
    }
  } finally {
    subscription.close();
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from 'bullmq';
import type { BackgroundRoute } from '../app/routes.ts';
import type { JobData } from '../queue/job-data.ts';
import type { Claimed } from './job-run.ts';

/** How often a batch still filling looks for more jobs within its `maxWaitMs`. */
const FILL_POLL_MS = 2;

/**
 * Dynamic batching: having taken one job of a batch route, takes up to `maxSize - 1` more of the same
 * route from the head of the queue, waiting up to `maxWaitMs` (from the first job) for them to arrive.
 * A job of another route at the head ends the batch and goes back to the head, so the queue's order
 * holds. Jobs are taken through a manual BullMQ worker (`getNextJob`) of their own, each under its own
 * lock token, kept alive by the lock keeper like any running job.
 */
export class BatchCollector {
  readonly #worker: Worker<JobData>;
  #taken = 0;

  constructor(manualWorker: Worker<JobData>, onError: (error: Error) => void) {
    this.#worker = manualWorker;
    manualWorker.on('error', onError);
  }

  async collect(route: BackgroundRoute, firstTakenAt: number): Promise<Claimed[]> {
    const batch = route.batch;
    if (!batch) return [];
    const deadline = firstTakenAt + batch.maxWaitMs;
    const more: Claimed[] = [];
    while (more.length + 1 < batch.maxSize) {
      const token = `${this.#worker.id}:batch:${++this.#taken}`;
      const job = await this.#worker.getNextJob(token, { block: false });
      if (!job) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await sleep(Math.min(FILL_POLL_MS, left));
        continue;
      }
      if (job.name !== route.path) {
        await job.moveToWait(token);
        break;
      }
      more.push({ job, token });
    }
    return more;
  }

  close(): Promise<void> {
    return this.#worker.close();
  }
}

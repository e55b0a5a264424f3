import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BackgroundRoute } from '../app/routes.ts';
import type { JobData } from '../queue/job-data.ts';
import { readLua } from '../redis/lua.ts';
import type { Claimed } from './job-run.ts';

const PEEK = readLua(import.meta.url, './peek-next-job.lua');

type PeekRedis = Redis & { kaliumPeekNextJob(waitKey: string, jobKeyPrefix: string): Promise<string | null> };

/** How often a batch still filling looks for more jobs within its `maxWaitMs`. */
const FILL_POLL_MS = 2;

/**
 * Dynamic batching: having taken one job of a batch route, takes up to `maxSize - 1` more of the same
 * route from the head of the queue, waiting up to `maxWaitMs` (from the first job) for them to arrive.
 * The head is looked at before it is taken: a job of another route there ends the batch and stays
 * where it is, so the queue's order holds. Jobs are taken through a manual BullMQ worker
 * (`getNextJob`) of their own, each under its own lock token, kept alive by the lock keeper like any
 * running job. (Should another worker process take the peeked job first, the job taken instead is
 * put back at the head.)
 */
export class BatchCollector {
  readonly #worker: Worker<JobData>;
  readonly #redis: PeekRedis;
  #taken = 0;

  constructor(manualWorker: Worker<JobData>, redis: Redis, onError: (error: Error) => void) {
    this.#worker = manualWorker;
    if (!('kaliumPeekNextJob' in redis)) redis.defineCommand('kaliumPeekNextJob', { numberOfKeys: 1, lua: PEEK });
    this.#redis = redis as PeekRedis;
    manualWorker.on('error', onError);
  }

  async collect(route: BackgroundRoute, firstTakenAt: number): Promise<Claimed[]> {
    const batch = route.batch;
    if (!batch) return [];
    const deadline = firstTakenAt + batch.maxWaitMs;
    const more: Claimed[] = [];
    while (more.length + 1 < batch.maxSize) {
      const next = await this.#redis.kaliumPeekNextJob(this.#worker.keys.wait!, this.#worker.toKey(''));
      if (next === null) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await sleep(Math.min(FILL_POLL_MS, left));
        continue;
      }
      if (next !== route.path) break;
      const token = `${this.#worker.id}:batch:${++this.#taken}`;
      const job = await this.#worker.getNextJob(token, { block: false });
      if (!job) continue;
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

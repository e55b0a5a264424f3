import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, Worker } from 'bullmq';
import type { RedisClient } from '../redis/connection.ts';
import type { BackgroundRoute } from '../app/routes.ts';
import type { JobData } from '../queue/job-data.ts';
import { withScripts, type ScriptedRedis } from '../redis/scripts.ts';
import { writeCoalescer } from '../redis/write-coalescing.ts';
import type { Claimed } from './job-run.ts';

/** How often a batch still filling looks for more jobs within its `maxWaitMs`. */
const FILL_POLL_MS = 2;

/**
 * Dynamic batching: having taken one job of a batch route, takes up to `maxSize - 1` more of the same
 * route from the head of the queue, waiting up to `maxWaitMs` (from the first job) for them to arrive.
 * The head is looked at before anything is taken: only the run of jobs of this route at the head is
 * taken, so a job of another route there ends the batch and keeps its place. The jobs are taken all at
 * once, through a manual BullMQ worker (`getNextJob`), in one write: one round trip to look, one to
 * take. Each is held under its own lock token, kept alive by the lock keeper like any
 * running job. (Should another worker process take some first, a job of another route taken instead
 * is put back at the head.)
 */
export class BatchCollector {
  readonly #worker: Worker<JobData>;
  readonly #redis: ScriptedRedis;
  readonly #coalesce: () => void;
  #taken = 0;

  constructor(manualWorker: Worker<JobData>, redis: RedisClient, onError: (error: Error) => void) {
    this.#worker = manualWorker;
    this.#coalesce = writeCoalescer(redis);
    this.#redis = withScripts(redis);
    manualWorker.on('error', onError);
  }

  async collect(route: BackgroundRoute, firstTakenAt: number): Promise<Claimed[]> {
    const batch = route.batch;
    if (!batch) return [];
    const deadline = firstTakenAt + batch.maxWaitMs;
    const more: Claimed[] = [];
    for (;;) {
      const wanted = batch.maxSize - 1 - more.length;
      if (wanted <= 0) break;
      const names = await this.#redis.kaliumPeekNextJobs(this.#worker.keys.wait!, this.#worker.keys.prioritized!, this.#worker.toKey(''), wanted);
      const run = names.findIndex((name) => name !== route.path);
      const count = run === -1 ? names.length : run;
      const { taken, foreign } = await this.#take(route, count);
      more.push(...taken);
      if (foreign || run !== -1) break; // a job of another route is next: the batch ends here
      const left = deadline - Date.now();
      if (more.length + 1 >= batch.maxSize || left <= 0) break;
      if (count === 0) await sleep(Math.min(FILL_POLL_MS, left));
    }
    return more;
  }

  close(): Promise<void> {
    return this.#worker.close();
  }

  /** Takes `count` jobs at once (one pipelined write); puts back any of another route. */
  async #take(route: BackgroundRoute, count: number): Promise<{ taken: Claimed[]; foreign: boolean }> {
    const tokens = Array.from({ length: count }, () => `${this.#worker.id}:batch:${++this.#taken}`);
    this.#coalesce();
    const jobs = await Promise.all(tokens.map((token) => this.#worker.getNextJob(token, { block: false })));
    const taken: Claimed[] = [];
    let foreign = false;
    for (const [i, job] of jobs.entries()) {
      if (!job) continue;
      if (job.name === route.path) taken.push({ job: job as Job<JobData>, token: tokens[i]! });
      else {
        foreign = true;
        await job.moveToWait(tokens[i]);
      }
    }
    return { taken, foreign };
  }
}

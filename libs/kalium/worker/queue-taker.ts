import { setTimeout as sleep } from 'node:timers/promises';
import { Worker, type Job, type JobJsonRaw } from 'bullmq';
import type { BackgroundRoute } from '../app/routes.ts';
import type { JobData } from '../queue/job-data.ts';
import type { RedisClient } from '../redis/connection.ts';
import { JOB_FIELDS } from '../redis/keys.ts';
import { withScripts, type ScriptedRedis } from '../redis/scripts.ts';
import { writeCoalescer } from '../redis/write-coalescing.ts';

/** How often a batch still filling looks for more jobs within its `maxWaitMs`. */
const FILL_POLL_MS = 2;

/** A job this worker holds: BullMQ's job (its `token` is the lock it is held by) and what its hash said when taken. */
export interface Taken {
  readonly job: Job<JobData>;
  readonly token: string;
  /** A cancel was committed before the take: the job is not run (cancel.lua marks the job's hash). */
  readonly canceled: boolean;
}

/**
 * The queue as the worker's loop sees it: BullMQ's Worker driven by hand (BullMQ's "manually fetching
 * jobs" pattern). BullMQ moves jobs between its sets, blocks while the queue is empty, recovers the jobs
 * of dead workers (its stalled-job check) and closes; the loop that takes, runs and finishes jobs is
 * JobWorker's, registered as this worker's main loop so that `close()` interrupts a wait for a job and
 * then waits for the loop, as it does for BullMQ's own.
 *
 * Finishing a job and taking the next is one command (BullMQ's moveToFinished with `fetchNext`), as in
 * BullMQ's own loop.
 */
export class QueueTaker extends Worker<JobData, null> {
  readonly #redis: ScriptedRedis;
  readonly #coalesce: () => void;
  /** What each job's hash said when it was taken (read from the reply that handed it over). */
  readonly #canceled = new WeakSet<Job>();
  #tokens = 0;

  constructor(queue: string, options: { connection: RedisClient; prefix: string; lockDuration: number; stalledIntervalMs: number; maxStalledCount: number }) {
    super(queue, null, {
      connection: options.connection,
      prefix: options.prefix,
      lockDuration: options.lockDuration,
      // Locks are kept from the lock keeper's thread (see LockKeeper), not BullMQ's timer.
      skipLockRenewal: true,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: options.maxStalledCount,
      autorun: false,
    });
    this.#redis = withScripts(options.connection);
    this.#coalesce = writeCoalescer(options.connection);
  }

  /** Runs `loop` as this worker's main loop (close() waits for it), with BullMQ's stalled-job check. */
  start(loop: () => Promise<void>): Promise<void> {
    this.mainLoopRunning = loop();
    void this.startStalledCheckTimer();
    return this.mainLoopRunning;
  }

  /** Whether close() has been called: the loop takes no more jobs. */
  get stopping(): boolean {
    return this.closing !== undefined;
  }

  /** The next job, waiting for one while the queue is empty; undefined when closing (or woken with none). */
  async take(): Promise<Taken | undefined> {
    const token = this.#newToken();
    const job = await this.getNextJob(token, { block: true });
    return job && this.#taken(job, token);
  }

  /**
   * For a batch route, having taken `first`: up to `maxSize - 1` more jobs of the same route from the
   * head of the queue, waiting up to `maxWaitMs` (from the first take) for them to arrive. The head is
   * looked at before anything is taken, so a job of another route there ends the batch and keeps its
   * place; the jobs seen are taken at once, in one write. (Should another worker take some first, a
   * job of another route taken instead is put back at the head.)
   */
  async takeBatch(route: BackgroundRoute, first: Taken, firstTakenAt: number): Promise<Taken[]> {
    const batch = route.batch;
    const taken = [first];
    if (!batch) return taken;
    const deadline = firstTakenAt + batch.maxWaitMs;
    while (taken.length < batch.maxSize && !this.stopping) {
      const names = await this.#redis.kaliumPeekNextJobs(this.keys.wait!, this.keys.prioritized!, this.toKey(''), batch.maxSize - taken.length);
      const run = names.findIndex((name) => name !== route.path);
      const count = run === -1 ? names.length : run;
      const { more, foreign } = await this.#takeNow(route, count);
      taken.push(...more);
      if (foreign || run !== -1) break; // a job of another route is next: the batch ends here
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (count === 0) await sleep(Math.min(FILL_POLL_MS, left));
    }
    return taken;
  }

  /**
   * Completes a job (its result is in the app's Store, see JobRecords.store) and, with `fetchNext`,
   * takes the next one in the same command.
   */
  async complete(taken: Taken, fetchNext: boolean): Promise<Taken | undefined> {
    return this.#next(await taken.job.moveToCompleted(null, taken.token, fetchNext), taken.token, fetchNext);
  }

  /**
   * Fails a job's attempt: BullMQ retries it (its attempts and backoff) unless `error` is an
   * UnrecoverableError. With `fetchNext`, takes the next job in the same command where BullMQ can.
   * With `remove` (a canceled job), the same command removes the job (BullMQ's removeOnFail), so it
   * is never in BullMQ's failed set, not even for a moment: its cancel marker says what became of it.
   */
  async fail(taken: Taken, error: Error, fetchNext: boolean, options: { remove?: boolean } = {}): Promise<Taken | undefined> {
    if (options.remove) taken.job.opts.removeOnFail = true;
    return this.#next(await taken.job.moveToFailed(error, taken.token, fetchNext), taken.token, fetchNext);
  }

  /** Reads kalium's marks from the job's hash as BullMQ hands it over. */
  protected override createJob(data: JobJsonRaw, jobId: string): Job<JobData, null, string> {
    const job = super.createJob(data, jobId);
    if ((data as unknown as Record<string, string | undefined>)[JOB_FIELDS.canceled] !== undefined) this.#canceled.add(job);
    return job;
  }

  /** The job a finishing command handed over (`fetchNext`), as a taken job; BullMQ learns of a drained queue here. */
  async #next(reply: unknown, token: string, fetchNext: boolean): Promise<Taken | undefined> {
    if (!fetchNext || !Array.isArray(reply)) return undefined;
    const [jobData, jobId] = reply as [JobJsonRaw | undefined, string | undefined];
    const job = await this.nextJobFromJobData(jobData, jobId, token);
    return job && this.#taken(job, token);
  }

  /** Takes `count` jobs at once (one write); puts back any of another route. */
  async #takeNow(route: BackgroundRoute, count: number): Promise<{ more: Taken[]; foreign: boolean }> {
    const tokens = Array.from({ length: count }, () => this.#newToken());
    this.#coalesce();
    const jobs = await Promise.all(tokens.map((token) => this.getNextJob(token, { block: false })));
    const more: Taken[] = [];
    let foreign = false;
    for (const [i, job] of jobs.entries()) {
      if (!job) continue;
      if (job.name === route.path) more.push(this.#taken(job, tokens[i]!));
      else {
        foreign = true;
        await job.moveToWait(tokens[i]);
      }
    }
    return { more, foreign };
  }

  #taken(job: Job<JobData>, token: string): Taken {
    return { job, token, canceled: this.#canceled.has(job) };
  }

  #newToken(): string {
    return `${this.id}:${++this.#tokens}`;
  }
}

import type { Job } from 'bullmq';
import type { LazyAbortController } from '../app/lazy-abort.ts';
import { Request } from '../app/request.ts';
import type { BackgroundRoute, JobContext } from '../app/routes.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { JobData } from '../queue/job-data.ts';
import { runSnapshot, toJobBody, type JobBody, type RunEnd } from '../queue/job-body.ts';
import { announce, type JobHooks } from '../queue/job-hooks.ts';
import { fieldsOfJob } from '../queue/job-reader.ts';
import type { RedisClient } from '../redis/connection.ts';
import type { AppKeys } from '../redis/keys.ts';
import type { LockKeeper } from '../lock/lock-keeper.ts';
import type { JobRecords } from './job-records.ts';
import type { Taken } from './queue-taker.ts';
import type { RunningJobs } from './running-jobs.ts';
import type { WorkerGpu } from './worker-lease.ts';

/** What running jobs needs from the worker around it: these parts, not the whole runtime. */
export interface RunDeps {
  config: Pick<Config, 'jobLockMs' | 'maxWorkerLosses' | 'resultTtl'>;
  /** The app's context (what `init` returned), handed to gpu routes. */
  context(): unknown;
  metrics: Metrics;
  /** The process's command connection and the app's keys: streamed output, deadline cancels. */
  redis: RedisClient;
  keys: AppKeys;
  records: JobRecords;
  running: RunningJobs;
  keeper: LockKeeper;
  gpu: WorkerGpu;
  hooks: readonly JobHooks[];
  /** The BullMQ lock key of a job. */
  lockKey(jobId: string): string;
  /** BullMQ's stalled set of the queue. */
  stalledKey: string;
  logger: Logger;
}

/** One job being run: the request and job context its handler gets, and what stops when it ends. */
export interface JobRun {
  readonly job: Job<JobData>;
  readonly id: string;
  readonly controller: LazyAbortController;
  readonly request: Request;
  readonly context: JobContext;
  /** Workers lost while running the job before this run (SPEC §17), once checked. */
  losses: number;
  /** Stops keeping its lock and forgets it as running. */
  stop(): void;
}

/**
 * Registers a taken job as running (so a cancel reaches it) and keeps its lock alive from the lock
 * keeper's thread; builds what the handler gets.
 */
export function startRun({ job, token }: Taken, route: BackgroundRoute, deps: RunDeps): JobRun {
  const id = job.id!;
  const controller = deps.running.start(id);
  const lockMs = deps.config.jobLockMs;
  const releaseLock = deps.keeper.keepJobLock({
    jobId: id,
    lockKey: deps.lockKey(id),
    stalledKey: deps.stalledKey,
    token,
    lockMs,
    untilMs: route.timeoutMs === undefined ? undefined : Date.now() + route.timeoutMs + lockMs,
  });
  const context = new RunContext(id, Math.max(1, job.attemptsStarted), controller, (percent) => reportProgress(run, percent, deps));
  const run: JobRun = {
    job,
    id,
    controller,
    request: Request.fromData(job.data.request, controller),
    context,
    losses: 0,
    stop() {
      releaseLock();
      deps.running.end(id);
    },
  };
  return run;
}

/** The `job` a background handler gets. A class: its signal is made only when read (see lazy-abort.ts). */
class RunContext implements JobContext {
  readonly id: string;
  readonly attempt: number;
  /** An own function, so `const { progress } = job` works too. */
  readonly progress: (percent: number) => Promise<void>;
  readonly #controller: LazyAbortController;

  constructor(id: string, attempt: number, controller: LazyAbortController, progress: (percent: number) => Promise<void>) {
    this.id = id;
    this.attempt = attempt;
    this.progress = progress;
    this.#controller = controller;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }
}

async function reportProgress(run: JobRun, percent: number, deps: RunDeps): Promise<void> {
  const { job } = run;
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new TypeError(`job.progress takes a number from 0 to 100, got ${String(percent)}`);
  }
  await job.updateProgress(percent);
  deps.records.notice({ id: run.id, type: 'progress', progress: percent });
  if (deps.hooks.length > 0) await announce(deps.hooks, deps.logger, 'progress', () => bodyOfRun(job, { status: 'running' }, run.losses), job.data.extra);
}

/** A job's body for the hooks, built as `GET /jobs/:id` builds it (see runSnapshot). */
export function bodyOfRun(job: Job<JobData>, end: RunEnd, workerLosses: number): JobBody {
  return { ...toJobBody(runSnapshot(job.id!, fieldsOfJob(job, workerLosses), end), Infinity)!, webhook: null };
}

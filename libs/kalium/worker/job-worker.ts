import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { announce, type JobHooks } from '../queue/job-hooks.ts';
import type { RunEnd } from '../queue/job-body.ts';
import type { JobData } from '../queue/job-data.ts';
import { recordOfJob } from '../queue/job-reader.ts';
import { connectionErrorLog } from '../log/connection-errors.ts';
import { logJobEnd } from '../log/job-log.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { BatchCollector } from './batch-collector.ts';
import { FinishedJobSweeper } from './finished-job-sweeper.ts';
import { JobRecords } from './job-records.ts';
import { bodyOfRun, type Claimed, type RunDeps } from './job-run.ts';
import { CANCELED_REASON, runJobs, type Outcome } from './run-jobs.ts';
import { RunningJobs } from './running-jobs.ts';
import { WorkerGpu } from './worker-lease.ts';

/**
 * How long BullMQ waits before fetching again after a failed fetch. Its default (15 s) would leave a
 * worker idle that long after every Redis outage; 2 s resumes promptly without spinning.
 */
const RUN_RETRY_DELAY_MS = 2000;

/**
 * BullMQ's own limit on how often a job may stall is not used: a worker's death is not the job's
 * failure (SPEC §17). kalium counts the workers lost while a handler ran (KALIUM_MAX_WORKER_LOSSES);
 * a worker dying before the handler started (waiting for the GPU lease) costs the job nothing.
 */
const UNLIMITED_STALLS = Number.MAX_SAFE_INTEGER;

type State = 'created' | 'running' | 'stopping' | 'stopped';

/**
 * The GPU worker: drains the app's job queue one job (or one batch) at a time. BullMQ moves jobs and
 * recovers those of dead workers (stalled-job check); kalium adds the GPU lease, cancel, results
 * written once, dynamic batching, and lock renewal from the runtime's keeper thread (see LockKeeper).
 * `created → running → stopping → stopped`.
 */
export class JobWorker {
  #state: State = 'created';
  readonly #worker: Worker<JobData, null>;
  readonly #collector: BatchCollector;
  readonly #deps: RunDeps;
  /** What the processor decided for each job, for the completed/failed events BullMQ emits after. */
  readonly #outcomes = new WeakMap<Job, Outcome>();
  #closing: Promise<void> | undefined;
  /** The job (or batch) being processed, until the processor returns. */
  #current: Promise<unknown> | undefined;
  /** What runs after BullMQ recorded a job's end (notices, metrics, the log line, hooks), awaited by close(). */
  readonly #ending = new Set<Promise<void>>();
  readonly #logError: (error: Error) => void;

  constructor(runtime: Runtime, hooks: readonly JobHooks[] = []) {
    const { config, keys, logger } = runtime;
    this.#logError = connectionErrorLog(logger, 'job worker error (retrying)');
    // BullMQ's commands and the worker's own go on one connection: a job's result is sent before BullMQ's
    // completion of it, and in the same write (see write-coalescing.ts).
    const connection = runtime.connection('blocking');
    const shared = { connection, prefix: keys.prefix, lockDuration: config.jobLockMs, skipLockRenewal: true };
    this.#worker = new Worker<JobData, null>(keys.jobQueue, (job, token) => this.#process(job, token!), {
      ...shared,
      autorun: false,
      concurrency: 1,
      stalledInterval: config.stalledIntervalMs,
      maxStalledCount: UNLIMITED_STALLS,
      runRetryDelay: RUN_RETRY_DELAY_MS,
    });
    this.#collector = new BatchCollector(
      new Worker<JobData>(keys.jobQueue, undefined, { ...shared, autorun: false, skipStalledCheck: true }),
      connection,
      (error) => this.#logError(error),
    );
    const records = new JobRecords(connection, keys, (id) => this.#worker.toKey(id), { resultTtl: config.resultTtl, maxWorkerLosses: config.maxWorkerLosses }, logger);
    const keeper = runtime.keeper;
    this.#deps = {
      runtime,
      records,
      running: new RunningJobs(runtime.connection('blocking'), keys.jobCancels, records, logger),
      keeper,
      gpu: new WorkerGpu(runtime, logger),
      hooks,
      lockKey: (jobId) => `${this.#worker.toKey(jobId)}:lock`,
      stalledKey: this.#worker.keys.stalled!,
      logger,
    };
    this.#listen();
  }

  get state(): State {
    return this.#state;
  }

  /** Starts draining the queue; resolves once the worker's connection is ready. */
  async start(): Promise<void> {
    if (this.#state !== 'created') return;
    this.#state = 'running';
    void this.#worker.run().catch((error: unknown) => this.#deps.logger.error({ err: error }, 'the job worker stopped on an error'));
    await this.#worker.waitUntilReady();
  }

  /** Stops taking jobs, lets the running one finish, then stops the rest. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'stopping';
      const steps: Array<[string, () => Promise<void> | void]> = [
        ['queue worker (finishing the running job)', () => this.#worker.close()],
        ['last jobs’ logs, metrics and hooks', () => this.#endingsDone()],
        ['batch collector', () => this.#collector.close()],
        ['GPU lease', () => this.#deps.gpu.close()],
        ['cancel listener', () => this.#deps.running.close()],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (error) {
          this.#deps.logger.error({ err: error, part: name }, 'error while closing the job worker');
        }
      }
      this.#state = 'stopped';
    })();
    return this.#closing;
  }

  /**
   * Resolves once no job is being processed. Called while stopping (no job starts after close()),
   * it tells when what is left to do is recording the last end and closing connections.
   */
  async jobsEnded(): Promise<void> {
    while (this.#current) await this.#current;
  }

  #process(job: Job<JobData>, token: string): Promise<null> {
    const running = this.#run(job, token);
    const current = running.then(
      () => undefined,
      () => undefined,
    );
    this.#current = current;
    void current.then(() => {
      if (this.#current === current) this.#current = undefined;
    });
    return running;
  }

  async #run(job: Job<JobData>, token: string): Promise<null> {
    const takenAt = Date.now();
    const route = this.#deps.runtime.app.route(job.name);
    if (route?.kind !== 'background') {
      throw new UnrecoverableError(`This app has no background route ${job.name} (was the job queued by another version of the app?).`);
    }
    const claimed: Claimed[] = [{ job, token }, ...(await this.#collector.collect(route, takenAt))];
    const outcomes = await runJobs(route, claimed, this.#deps);
    await Promise.all(claimed.slice(1).map((more, i) => this.#finishByHand(more, outcomes[i + 1]!)));
    const outcome = outcomes[0]!;
    this.#outcomes.set(job, outcome);
    if (outcome.status === 'succeeded') return null;
    throw failureFor(outcome);
  }

  /** Batched jobs taken by hand are completed by hand (the first is BullMQ's to complete). */
  async #finishByHand({ job, token }: Claimed, outcome: Outcome): Promise<void> {
    try {
      if (outcome.status === 'succeeded') await job.moveToCompleted(null, token, false);
      else await job.moveToFailed(failureFor(outcome), token, false);
      await this.#ended(job, outcome);
    } catch (error) {
      this.#deps.logger.warn({ err: error, jobId: job.id }, 'could not finish a batched job (its lock lapsed?); it will run again');
    }
  }

  /** After BullMQ has recorded a run's end: notices, metrics, logs and hooks. */
  async #ended(job: Job<JobData>, reported: Outcome): Promise<void> {
    const { records, runtime, logger, hooks } = this.#deps;
    const outcome = await this.#settled(reported);
    // A stored result was announced by the script that stored it.
    if (!(reported.status === 'succeeded' && reported.stored)) records.notice({ id: job.id!, type: 'changed' });
    const failure = outcome.status === 'failed' ? { message: outcome.message, error: outcome.error } : undefined;
    if (failure && job.finishedOn === undefined) {
      logger.info({ jobId: job.id, attempt: job.attemptsStarted, error: failure.message, err: failure.error }, 'job failed; it will be retried');
      return;
    }
    runtime.metrics.jobs.inc({ route: job.name, outcome: outcome.status });
    logJobEnd(logger, job, outcome.status, failure);
    const losses = reported.losses ?? 0;
    let end: RunEnd;
    if (outcome.status === 'canceled') {
      const dropped = await records.dropCanceled(job).catch(() => undefined);
      if (!dropped?.announce) return; // the api announced it (it removed the queued job)
      end = { status: 'canceled', record: dropped.record ?? recordOfJob(job, losses) };
    } else if (outcome.status === 'failed') end = { status: 'failed', error: outcome.message, code: outcome.code };
    else end = { status: 'succeeded', result: outcome.result };
    if (hooks.length > 0) await announce(hooks, logger, outcome.status, () => bodyOfRun(job, end, losses), job.data.extra);
  }

  /** The outcome once the result's write has landed: `canceled` when a cancel came first. */
  async #settled(outcome: Outcome): Promise<Outcome> {
    if (outcome.status !== 'succeeded' || !outcome.stored) return outcome;
    try {
      return (await outcome.stored) === 'canceled' ? { status: 'canceled' } : outcome;
    } catch {
      return { status: 'failed', message: 'The result could not be stored.', retry: false }; // logged by runJobs
    }
  }

  /**
   * Records a job's end once BullMQ has (its 'completed' or 'failed' event). Started at once: deferring
   * it past the next job's first write was measured inside the noise (bench/README.md) and is gone.
   */
  #afterEnd(job: Job<JobData>, reported: Outcome): void {
    const running = this.#ended(job, reported).catch((error: unknown) => this.#deps.logger.error({ err: error }, 'error after a job ended'));
    this.#ending.add(running);
    void running.finally(() => this.#ending.delete(running));
  }

  /** Resolves once every job's ending has finished (closing). */
  async #endingsDone(): Promise<void> {
    await Promise.all(this.#ending);
  }

  #listen(): void {
    const { logger, records } = this.#deps;
    this.#worker.on('completed', (job) => this.#afterEnd(job, this.#outcomes.get(job) ?? { status: 'succeeded', result: null }));
    this.#worker.on('failed', (job, error) => {
      if (!job) return;
      // BullMQ fails a job taken with a deferred failure unrun: the cancel's (see cancel.lua).
      const unrun: Outcome = job.deferredFailure === CANCELED_REASON ? { status: 'canceled' } : { status: 'failed', message: error.message, retry: false };
      this.#afterEnd(job, this.#outcomes.get(job) ?? unrun);
    });
    this.#worker.on('stalled', (jobId) => {
      logger.warn({ jobId }, 'a job’s worker stopped renewing its lock (it died?); the job goes back to the queue');
      records.notice({ id: jobId, type: 'changed' });
    });
    this.#worker.on('error', (error) => this.#logError(error));
  }
}

function failureFor(outcome: Exclude<Outcome, { status: 'succeeded' }>): Error {
  if (outcome.status === 'canceled') return new UnrecoverableError(CANCELED_REASON);
  return outcome.retry ? new Error(outcome.message) : new UnrecoverableError(outcome.message);
}

/** Starts the app's job worker in this process; the runtime closes it first when the process stops. */
export async function startJobWorker(runtime: Runtime, hooks: readonly JobHooks[] = []): Promise<JobWorker> {
  const worker = new JobWorker(runtime, hooks);
  const sweeper = new FinishedJobSweeper(runtime);
  runtime.onClose('finished-job sweeper', () => sweeper.close());
  runtime.onClose('job worker', () => worker.close());
  await worker.start();
  return worker;
}

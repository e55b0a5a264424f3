import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError, isNotConnectionError } from 'bullmq';
import { announce, type JobHooks } from '../queue/job-hooks.ts';
import type { RunEnd } from '../queue/job-body.ts';
import { recordOfJob } from '../queue/job-reader.ts';
import { connectionErrorLog } from '../log/connection-errors.ts';
import { logJobEnd } from '../log/job-log.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { FinishedJobSweeper } from './finished-job-sweeper.ts';
import { JobRecords, type Stored } from './job-records.ts';
import { bodyOfRun, type RunDeps } from './job-run.ts';
import { CANCELED_REASON, runJobs, type Outcome } from './run-jobs.ts';
import { QueueTaker, type Taken } from './queue-taker.ts';
import { RunningJobs } from './running-jobs.ts';
import { WorkerGpu } from './worker-lease.ts';

/**
 * How long the loop waits after Redis refused a take or a finish before trying again: BullMQ's own
 * default (15 s) would leave a worker idle that long after every outage; 2 s resumes promptly.
 */
const RETRY_DELAY_MS = 2000;

/**
 * BullMQ's own limit on how often a job may stall is not used: a worker's death is not the job's
 * failure (SPEC §17). kalium counts the workers lost while a handler ran (KALIUM_MAX_WORKER_LOSSES);
 * a worker dying before the handler started (waiting for the GPU lease) costs the job nothing.
 */
const UNLIMITED_STALLS = Number.MAX_SAFE_INTEGER;

type State = 'created' | 'running' | 'stopping' | 'stopped';

/**
 * The GPU worker: one loop, one job (or one batch) at a time —
 *
 *   take a job (or up to `maxSize` for a batch route) → was it canceled? → GPU lease → run the handler
 *   → store the result and complete the job (one write; the completion takes the next job) → record
 *   the end (notices, metrics, the log line, hooks).
 *
 * BullMQ moves the jobs (QueueTaker) and hands the jobs of dead workers back to the queue; kalium adds
 * the lease, cancels, results written once, batches, and lock renewal from the keeper's thread.
 * `created → running → stopping → stopped`.
 */
export class JobWorker {
  #state: State = 'created';
  readonly #runtime: Runtime;
  readonly #taker: QueueTaker;
  readonly #deps: RunDeps;
  /** Ends being recorded (hooks can take a round trip or two); close() waits for them. */
  readonly #ending = new Set<Promise<void>>();
  /** The take being run, until it is finished (see jobsEnded). */
  #current: Promise<unknown> | undefined;
  #closing: Promise<void> | undefined;
  readonly #logError: (error: Error) => void;

  constructor(runtime: Runtime, hooks: readonly JobHooks[] = []) {
    const { config, keys, logger } = runtime;
    this.#runtime = runtime;
    this.#logError = connectionErrorLog(logger, 'job worker error (retrying)');
    // The result's write and BullMQ's completion of the job go on one connection, in this order, and
    // leave in one write (see write-coalescing.ts). It waits for Redis to come back rather than failing.
    const connection = runtime.connection('blocking');
    this.#taker = new QueueTaker(keys.jobQueue, {
      connection,
      prefix: keys.prefix,
      lockDuration: config.jobLockMs,
      stalledIntervalMs: config.stalledIntervalMs,
      maxStalledCount: UNLIMITED_STALLS,
    });
    const records = new JobRecords(connection, keys, (id) => this.#taker.toKey(id), { resultTtl: config.resultTtl, maxWorkerLosses: config.maxWorkerLosses }, logger);
    this.#deps = {
      config,
      context: () => runtime.context,
      metrics: runtime.metrics,
      redis: runtime.redis,
      keys,
      records,
      running: new RunningJobs(runtime.connection('blocking'), keys.jobCancels, records, logger),
      keeper: runtime.keeper,
      gpu: new WorkerGpu({ lease: runtime.lease, gpuStats: runtime.gpuStats, metrics: runtime.metrics }, logger),
      hooks,
      lockKey: (jobId) => `${this.#taker.toKey(jobId)}:lock`,
      stalledKey: this.#taker.keys.stalled!,
      logger,
    };
    this.#taker.on('stalled', (jobId) => {
      logger.warn({ jobId }, 'a job’s worker stopped renewing its lock (it died?); the job goes back to the queue');
      records.notice({ id: jobId, type: 'changed' });
    });
    this.#taker.on('error', (error) => this.#logError(error));
  }

  get state(): State {
    return this.#state;
  }

  /** Starts draining the queue; resolves once the worker's connection is ready. */
  async start(): Promise<void> {
    if (this.#state !== 'created') return;
    this.#state = 'running';
    await this.#taker.waitUntilReady();
    void this.#taker.start(() => this.#drain());
  }

  /** Stops taking jobs, lets the running one finish and its end be recorded, then stops the rest. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'stopping';
      const steps: Array<[string, () => Promise<unknown> | void]> = [
        // BullMQ's close interrupts a wait for a job, then waits for the loop (QueueTaker.start).
        ['queue worker (finishing the running job)', () => this.#taker.close()],
        ['the last jobs’ ends', () => Promise.all(this.#ending)],
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
   * Resolves once no job is being run. Called while stopping (no job starts after close()), it tells
   * when what is left to do is recording the last end and closing connections.
   */
  async jobsEnded(): Promise<void> {
    while (this.#current) await this.#current;
  }

  /** The loop. A job handed over by the last finish is run even while closing: it is held, and taken. */
  async #drain(): Promise<void> {
    let next: Taken | undefined;
    while (next || !this.#taker.stopping) {
      try {
        const taken = next ?? (await this.#taker.take());
        next = undefined;
        if (!taken) continue;
        const current = this.#runTake(taken);
        this.#current = current;
        next = await current;
      } catch (error) {
        // Redis refused the take (finishes retry on their own): BullMQ's loop waits the same way.
        this.#logError(error as Error);
        if (!this.#taker.stopping) await sleep(RETRY_DELAY_MS);
      } finally {
        this.#current = undefined;
        if (!next) this.#deps.gpu.idle(); // no job in hand: a lease kept from the last one is freed
      }
    }
  }

  /** One take, from its first job to its finish; returns the job the finish took next, if any. */
  async #runTake(first: Taken): Promise<Taken | undefined> {
    const takenAt = Date.now();
    const route = this.#runtime.app.route(first.job.name);
    if (route?.kind !== 'background') {
      const message = `This app has no background route ${first.job.name} (was the job queued by another version of the app?).`;
      return this.#finish([first], [{ status: 'failed', message, retry: false }]);
    }
    const taken = await this.#taker.takeBatch(route, first, takenAt).catch((error: unknown) => {
      this.#logError(error as Error); // the batch goes on with what was taken before Redis refused
      return [first];
    });
    const outcomes = await runJobs(route, taken, this.#deps).catch((error: unknown): Outcome[] => {
      this.#deps.logger.error({ err: error, route: route.path }, 'the worker could not run the jobs; they are retried');
      return taken.map(() => ({ status: 'failed', message: 'The worker could not run the job.', retry: true }));
    });
    return this.#finish(taken, outcomes);
  }

  /**
   * Stores each succeeded job's result and completes it, or fails it (a retry, unless it cannot pass),
   * all in one write; the last job's command takes the next job unless the worker is stopping. Then
   * records each end, without holding up the next job.
   */
  async #finish(taken: Taken[], outcomes: Outcome[]): Promise<Taken | undefined> {
    const last = taken.length - 1;
    const finished = await Promise.all(taken.map((one, i) => this.#finishOne(one, outcomes[i]!, i === last && !this.#taker.stopping)));
    for (const [i, { outcome }] of finished.entries()) {
      if (!outcome) continue;
      const ending = this.#ended(taken[i]!, outcome, outcomes[i]!).catch((error: unknown) => this.#deps.logger.error({ err: error }, 'error after a job ended'));
      this.#ending.add(ending);
      void ending.finally(() => this.#ending.delete(ending));
    }
    return finished[last]!.next;
  }

  /**
   * One job's finishing command (and its result's script before it), retried while Redis is away. The
   * outcome is `canceled` when a cancel came before the result; undefined when the job is no longer this
   * worker's (its lock lapsed: it runs again elsewhere).
   */
  async #finishOne(one: Taken, outcome: Outcome, fetchNext: boolean): Promise<{ outcome?: Outcome; next?: Taken }> {
    const { logger } = this.#deps;
    const id = one.job.id!;
    for (;;) {
      try {
        if (outcome.status !== 'succeeded') {
          return { outcome, next: await this.#taker.fail(one, failureFor(outcome), fetchNext, { remove: outcome.status === 'canceled' }) };
        }
        const stored = outcome.json === undefined ? undefined : this.#store(id, outcome.json);
        const [kept, next] = await Promise.all([stored, this.#taker.complete(one, fetchNext)]);
        // Completed in BullMQ without a result: its cancel marker makes it `canceled` everywhere.
        if (kept === 'canceled') return { outcome: { status: 'canceled' }, next };
        if (kept === 'failed') return { outcome: { status: 'failed', message: 'The result could not be stored.', retry: false }, next };
        return { outcome, next };
      } catch (error) {
        if (isNotConnectionError(error as Error)) {
          logger.warn({ err: error, jobId: id }, 'could not finish the job (its lock lapsed?); it will run again');
          return {};
        }
        this.#logError(error as Error);
        await sleep(RETRY_DELAY_MS);
      }
    }
  }

  /** Stores a result (see JobRecords.store); what became of it, `failed` when Redis refused it (logged). */
  async #store(id: string, json: string): Promise<Stored | 'failed'> {
    const { records, logger } = this.#deps;
    try {
      const kept = await records.store(id, json);
      if (kept === 'kept-earlier') logger.warn({ jobId: id }, 'an earlier run of this job already stored its result; it is kept');
      return kept;
    } catch (error) {
      logger.error({ err: error, jobId: id }, 'the job’s result could not be stored');
      return 'failed';
    }
  }

  /** After a job's end is in Redis: notices, metrics, the log line and hooks. */
  async #ended(taken: Taken, outcome: Outcome, reported: Outcome): Promise<void> {
    const { records, logger, hooks, metrics } = this.#deps;
    const { job } = taken;
    // A stored result was announced by the script that stored it.
    if (!(reported.status === 'succeeded' && reported.json !== undefined)) records.notice({ id: job.id!, type: 'changed' });
    const failure = outcome.status === 'failed' ? { message: outcome.message, error: outcome.error } : undefined;
    if (failure && job.finishedOn === undefined) {
      logger.info({ jobId: job.id, attempt: job.attemptsStarted, error: failure.message, err: failure.error }, 'job failed; it will be retried');
      return;
    }
    metrics.jobs.inc({ route: job.name, outcome: outcome.status });
    logJobEnd(logger, job, outcome.status, failure);
    const losses = reported.losses ?? 0;
    let end: RunEnd;
    if (outcome.status === 'canceled') {
      const dropped = await records.dropCanceled(job, reported.status !== 'canceled').catch(() => undefined);
      if (!dropped?.announce) return; // the api announced it (it removed the queued job)
      end = { status: 'canceled', record: dropped.record ?? recordOfJob(job, losses) };
    } else if (outcome.status === 'failed') end = { status: 'failed', error: outcome.message, code: outcome.code };
    else end = { status: 'succeeded', result: outcome.result };
    if (hooks.length > 0) await announce(hooks, logger, outcome.status, () => bodyOfRun(job, end, losses), job.data.extra);
  }
}

/** The error a job's attempt fails with in BullMQ: an UnrecoverableError where no retry may follow. */
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

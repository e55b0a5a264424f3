import { LazyAbortController } from '../app/lazy-abort.ts';
import { Response } from '../app/response.ts';
import type { BackgroundFn, BackgroundRoute, BatchFn } from '../app/routes.ts';
import { announce, anyListens } from '../queue/job-hooks.ts';
import { bodyOfRun, startRun, type JobRun, type RunDeps } from './job-run.ts';
import { JobCanceledError } from './running-jobs.ts';
import type { Precheck } from './job-records.ts';
import type { Taken } from './queue-taker.ts';
import type { WorkerLease } from './worker-lease.ts';
import { armDeadline, cancelOverdue } from './job-deadline.ts';
import { isAsyncIterable, resultOf } from '../stream/run-output.ts';
import { OutputTooLargeError } from '../stream/job-output.ts';

/**
 * What became of one job of a run. `retry` false: no further attempt, whatever `attempts` says.
 * `json`: the result to store; absent when an earlier run of the job stored it.
 */
export type Outcome = (
  | { status: 'succeeded'; result: unknown; json?: string }
  | { status: 'failed'; message: string; retry: boolean; code?: 'worker_lost'; error?: unknown }
  | { status: 'canceled' }
) & { /** Workers lost while running the job (for its body). */ losses?: number };

/** BullMQ's failedReason of a canceled job (its status comes from the cancel marker). */
export const CANCELED_REASON = 'canceled';

/** The reason `job.signal` carries when the job ran past its route's `timeoutMs`. */
export class JobTimeoutError extends Error {
  constructor(ms: number) {
    super(`The job did not finish within its timeout of ${ms} ms.`);
    this.name = 'TimeoutError';
  }
}

type Settled = { values: unknown[] } | { error: unknown } | { timedOut: true };

/**
 * Runs taken jobs of one route: one job, or a batch handed to the handler as arrays. Jobs canceled
 * before they start, or whose result an earlier run already stored, are not run. gpu routes run under
 * the device's GPU lease, held until the handler really stops (past a timeout too).
 */
export async function runJobs(route: BackgroundRoute, taken: readonly Taken[], deps: RunDeps): Promise<Outcome[]> {
  if (!route.gpu) deps.gpu.idle(); // a lease kept from a gpu job is not held through this one
  const runs = taken.map((one) => startRun(one, route, deps));
  const disarm = runs.map((run) => armDeadline(run, deps));
  const overdue = cancelOverdue(runs, deps);
  const marked = markWaiting(route, runs, taken, overdue !== undefined, deps);
  try {
    if (overdue) await overdue;
    // The lease is asked for while the jobs are checked (one round trip, not two); the wait for it
    // ends, and a lease taken is given back, when none of them is to run.
    const nothingToRun = allAborted(runs.map((run) => run.controller));
    const prechecks = checkBeforeRun(runs, taken, deps);
    void prechecks.then(
      (checks) => checks.forEach((check, i) => check.state !== 'run' && runs[i]!.controller.abort(new JobCanceledError(runs[i]!.id))),
      () => nothingToRun.abort(),
    );
    const [checks, lease] = await Promise.all([prechecks, route.gpu ? deps.gpu.take(nothingToRun) : undefined]);
    const outcomes: Array<Outcome | undefined> = checks.map((check, i) => {
      if (check.state === 'canceled') return { status: 'canceled' };
      if (check.state === 'done') return { status: 'succeeded', result: check.result };
      if (check.state === 'lost') return workerLost(runs[i]!, check.losses, deps);
      runs[i]!.losses = check.losses;
      if (check.lostNow) noteLostWorker(runs[i]!, check.losses, deps);
      return undefined;
    });
    const live = runs.filter((_, i) => outcomes[i] === undefined);
    if (live.length === 0 || (route.gpu && !lease)) {
      lease?.release();
      return outcomes.map((outcome) => outcome ?? { status: 'canceled' });
    }
    const results = await execute(route, live, lease, marked, deps);
    live.forEach((run, i) => (outcomes[runs.indexOf(run)] = results[i]));
    return outcomes as Outcome[];
  } finally {
    for (const stop of disarm) stop();
    for (const run of runs) run.stop();
  }
}

/**
 * SPEC §17: a worker that dies before a job's handler started costs the job nothing. Where this take
 * waits for something before the handlers start (a re-take's check, the GPU lease, a hook, a deadline's
 * cancel), its jobs are marked waiting until they start (see JOB_FIELDS.waiting; re-takes are marked by
 * their check). A take that waits for nothing — a first attempt of a gpu=false route, or of a gpu route
 * while the lease is kept from the last job, with no hook listening — sends nothing: a death there is
 * within the same turn of the event loop as the handler's start. Returns whether the jobs were marked.
 */
function markWaiting(route: BackgroundRoute, runs: JobRun[], taken: readonly Taken[], overdue: boolean, deps: RunDeps): boolean {
  const waits =
    overdue ||
    runs.some((run, i) => run.job.attemptsStarted > 1 && !taken[i]!.canceled) ||
    (route.gpu && !deps.gpu.holding) ||
    runs.some((run) => anyListens(deps.hooks, run.job.data.extra));
  if (!waits) return false;
  deps.records.waiting(runs.filter((run, i) => run.job.attemptsStarted <= 1 && !taken[i]!.canceled).map((run) => run.id));
  return true;
}

/**
 * Where each job stands before it runs. A cancel committed before the job was taken came with it: the
 * cancel marks the job's hash, which the reply handing the job over carries (no race between the
 * cancel's pub/sub message and that reply, on two connections). A cancel heard since aborts the run's
 * controller. A job taken again (a retry, or its worker died) is read from Redis too: an earlier run
 * may have stored its result, and a worker lost is counted (SPEC §17).
 */
async function checkBeforeRun(runs: JobRun[], taken: readonly Taken[], deps: RunDeps): Promise<Precheck[]> {
  const toRead = runs.filter((run, i) => run.job.attemptsStarted > 1 && !taken[i]!.canceled);
  deps.records.coalesce();
  const read = toRead.length > 0 ? await deps.records.precheck(toRead.map((run) => run.id)) : [];
  return runs.map((run, i): Precheck => {
    if (taken[i]!.canceled || run.controller.reason instanceof JobCanceledError) return { state: 'canceled' };
    const r = toRead.indexOf(run);
    return r >= 0 ? read[r]! : { state: 'run', losses: 0, lostNow: false };
  });
}

/** A job whose workers died KALIUM_MAX_WORKER_LOSSES times while running it: failed, not run again. */
function workerLost(run: JobRun, losses: number, deps: RunDeps): Outcome {
  const message = `The job's worker died ${losses} times while running it (KALIUM_MAX_WORKER_LOSSES is ${deps.config.maxWorkerLosses}); it is not run again.`;
  void run.job.log(message).catch(() => undefined);
  return { status: 'failed', message, retry: false, code: 'worker_lost', losses };
}

/** Says, in the worker's log and in the job's log (the dashboard shows it), that a worker was lost. */
function noteLostWorker(run: JobRun, losses: number, deps: RunDeps): void {
  const max = deps.config.maxWorkerLosses;
  deps.logger.warn({ jobId: run.id, workerLosses: losses, max }, 'the worker that ran this job died; it runs again, not counted as an attempt');
  void run.job.log(`worker lost ${losses} of ${max}: the worker running the job died; run again`).catch(() => undefined);
}

async function execute(route: BackgroundRoute, runs: JobRun[], lease: WorkerLease | undefined, marked: boolean, deps: RunDeps): Promise<Outcome[]> {
  const started = Date.now();
  for (const run of runs) deps.logger.debug({ jobId: run.id, route: route.path, attempt: run.context.attempt }, 'job started');
  if (deps.hooks.length > 0) {
    await Promise.all(runs.map((run) => announce(deps.hooks, deps.logger, 'started', () => bodyOfRun(run.job, { status: 'running' }, run.losses), run.job.data.extra)));
  }
  if (marked) deps.records.started(runs.map((run) => run.id));
  const work = invoke(route, runs, deps.context(), deps);
  const stop = () => lease?.release();
  work.then(stop, stop); // the GPU is busy until the handler stops, even past its timeout
  const settled = await settle(work, route.timeoutMs);
  if ('timedOut' in settled) for (const run of runs) run.controller.abort(new JobTimeoutError(route.timeoutMs!));
  const outcomes = runs.map((run, i): Outcome => {
    const outcome = outcomeOf(run, settled, i);
    return { ...outcome, losses: run.losses };
  });
  const seconds = (Date.now() - started) / 1000;
  for (const outcome of outcomes) deps.metrics.jobDuration.observe({ route: route.path, outcome: outcome.status }, seconds);
  return outcomes;
}

/** Calls the handler: with one request and job, or with arrays for a batch route. */
function invoke(route: BackgroundRoute, runs: JobRun[], appContext: unknown, deps: RunDeps): Promise<unknown[]> {
  const context = route.gpu ? appContext : undefined;
  return (async () => {
    // An async generator's (any async iterable's) chunks stream as they come (stream/run-output.ts).
    if (!route.batch) {
      const value = await (route.fn as BackgroundFn<unknown>)(context, runs[0]!.request, runs[0]!.context);
      return [isAsyncIterable(value) ? await resultOf(value, runs[0]!, route.policy?.maxOutputBytes, deps) : value];
    }
    const results = await (route.fn as BatchFn<unknown>)(context, runs.map((run) => run.request), runs.map((run) => run.context));
    if (!Array.isArray(results) || results.length !== runs.length) {
      const got = Array.isArray(results) ? `${results.length} results` : typeof results;
      throw new Error(`The batch handler must return an array of ${runs.length} results (one per request), got ${got}.`);
    }
    return results;
  })();
}

async function settle(work: Promise<unknown[]>, timeoutMs: number | undefined): Promise<Settled> {
  const settled = work.then((values): Settled => ({ values }), (error: unknown): Settled => ({ error }));
  if (timeoutMs === undefined) return settled;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Settled>((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), timeoutMs);
  });
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function outcomeOf(run: JobRun, settled: Settled, index: number): Outcome {
  const reason: unknown = run.controller.reason;
  if (reason instanceof JobCanceledError) return { status: 'canceled' };
  if (reason instanceof JobTimeoutError) return { status: 'failed', message: reason.message, retry: true };
  // Past its output cap a job would pass it again: not retried.
  if ('error' in settled) return { status: 'failed', message: messageOf(settled.error), retry: !(settled.error instanceof OutputTooLargeError), error: settled.error };
  if (!('values' in settled)) return { status: 'failed', message: 'The job did not finish.', retry: true };
  const result = toStorable(settled.values[index]);
  try {
    return { status: 'succeeded', result, json: JSON.stringify(result) };
  } catch (error) {
    return { status: 'failed', message: `The handler's result is not JSON: ${messageOf(error)}`, retry: false, error };
  }
}

/** What is stored for a handler's return value: JSON, `null` for nothing, a Response's JSON body. */
function toStorable(value: unknown): unknown {
  if (value instanceof Response) return value.json ?? null;
  return value === undefined ? null : value;
}

/** A failure's message, never its stack. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === 'string' ? error : 'The handler failed.';
}

/** A controller that aborts once every one of `controllers` has aborted (or when aborted itself). */
function allAborted(controllers: LazyAbortController[]): LazyAbortController {
  const all = new LazyAbortController();
  let left = controllers.length;
  if (left === 0) all.abort();
  for (const controller of controllers) controller.onAbort(() => --left === 0 && all.abort());
  return all;
}

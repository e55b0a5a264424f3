import type { Queue } from 'bullmq';
import { commitCancel } from '../queue/cancel-commands.ts';
import type { CanceledRecord } from '../queue/job-body.ts';
import { recordOfJob } from '../queue/job-reader.ts';
import type { JobRun, RunDeps } from './job-run.ts';
import { JobCanceledError } from './running-jobs.ts';

/**
 * SPEC §14's deadlines, kept by the worker: a job is canceled, as a DELETE would cancel it (the same
 * durable marker, so it ends `canceled` everywhere), with `deadline_exceeded` and a message in its
 * record. A job taken past its deadline (or its route's maxQueueMs) is canceled before it runs; a job
 * running at its deadline is canceled then, which aborts its `job.signal`.
 */

/**
 * Why a job's deadline has passed at `now`, or undefined while it has not. The route's maxQueueMs
 * bounds the wait for a worker only: it is not checked once the job `started`.
 */
export function deadlinePassed(run: JobRun, now: number, started: boolean): string | undefined {
  const policy = run.job.data.policy;
  if (!policy) return undefined;
  if (!started && policy.startBy !== undefined && now >= policy.startBy) {
    return `The job waited in the queue longer than its route's maxQueueMs of ${policy.maxQueueMs} ms; it was not run.`;
  }
  if (policy.deadlineAt !== undefined && now >= policy.deadlineAt) {
    return `The job did not finish within its deadline of ${policy.deadlineMs} ms (Cancel-After or the route's deadlineMs).`;
  }
  return undefined;
}

/**
 * Cancels, before they run, the jobs of a run whose deadline passed while they were queued; undefined
 * (nothing to wait for) when none did, so a run without one stays synchronous up to its first write
 * (runJobs corks the connection there). Awaited before the run's checks: those then see the cancel and
 * the handler never starts.
 */
export function cancelOverdue(runs: readonly JobRun[], deps: RunDeps): Promise<void> | undefined {
  const now = Date.now();
  const overdue = runs.flatMap((run) => {
    const message = deadlinePassed(run, now, false);
    return message ? [{ run, message }] : [];
  });
  if (overdue.length === 0) return undefined;
  return Promise.all(overdue.map(({ run, message }) => cancelAtDeadline(run, message, deps, false))).then(() => undefined);
}

/**
 * Cancels a running job at its deadline; returns what stops the timer (when the run ends first).
 * Past a timer's reach (over 24 days) there is no deadline to keep: Cancel-After is at most a day.
 */
export function armDeadline(run: JobRun, deps: RunDeps): () => void {
  const deadlineAt = run.job.data.policy?.deadlineAt;
  if (deadlineAt === undefined) return () => undefined;
  const timer = setTimeout(() => {
    const message = deadlinePassed(run, Date.now(), true);
    if (message) void cancelAtDeadline(run, message, deps, true);
  }, Math.max(0, deadlineAt - Date.now()));
  return () => clearTimeout(timer);
}

async function cancelAtDeadline(run: JobRun, message: string, deps: RunDeps, started: boolean): Promise<void> {
  const { job } = run;
  const record: CanceledRecord = {
    ...recordOfJob(job, run.losses),
    canceledAt: Date.now(),
    startedAt: started ? (job.processedOn ?? null) : null,
    bodyHash: job.data.bodyHash ?? '',
    code: 'deadline_exceeded',
    message,
  };
  const queue = { toKey: (id: string) => `${job.queueQualifiedName}:${id}` } as Pick<Queue, 'toKey'> as Queue;
  try {
    const commit = await commitCancel(deps.redis, queue, deps.keys, run.id, record, deps.config.resultTtl);
    // Not waiting for the cancel's pub/sub message to come back: the run stops now.
    if (commit === 'canceled') run.controller.abort(new JobCanceledError(run.id));
  } catch (error) {
    deps.logger.error({ err: error, jobId: run.id }, 'could not cancel a job at its deadline; it runs on');
  }
}

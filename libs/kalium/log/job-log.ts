import type { Logger } from './logger.ts';

/** What a finished job's log line is made from: BullMQ's job fields and how the run ended. */
export interface EndedJob {
  id?: string;
  /** The background route (BullMQ's job name). */
  name: string;
  attemptsStarted: number;
  /** When it was queued, started and finished (ms since epoch). */
  timestamp: number;
  processedOn?: number;
  finishedOn?: number;
}

/**
 * One JSON line per job when it ends, `"msg":"job finished"`: job id, route, status, attempts, how
 * long it ran and how long it waited in the queue, and a failure's message. Never the job's input or
 * result: they are the caller's. Failures log at warn, the rest at info.
 */
export function logJobEnd(
  logger: Logger,
  job: EndedJob,
  status: 'succeeded' | 'failed' | 'canceled',
  failure?: string | { message: string; error?: unknown },
): void {
  const { message, error } = typeof failure === 'string' ? { message: failure, error: undefined } : (failure ?? {});
  const finished = job.finishedOn ?? Date.now();
  const line = {
    jobId: job.id,
    route: job.name,
    status,
    attempts: Math.max(1, job.attemptsStarted),
    durationMs: job.processedOn === undefined ? null : finished - job.processedOn,
    queuedMs: job.processedOn === undefined ? null : job.processedOn - job.timestamp,
    ...(message === undefined ? {} : { error: message }),
    // The failure's stack is for the operator: in this line, never in an answer or a job body.
    ...(error instanceof Error ? { err: error } : {}),
  };
  if (status === 'failed') logger.warn(line, 'job finished');
  else logger.info(line, 'job finished');
}

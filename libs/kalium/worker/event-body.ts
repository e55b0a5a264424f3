import type { Job } from 'bullmq';
import type { JobBody, JobStatus } from '../queue/job-body.ts';
import type { JobData } from '../queue/job-data.ts';

/** A job's body as the worker knows it, for hooks (webhooks): what `GET /jobs/:id` would answer. */
export function eventBody(
  job: Job<JobData>,
  status: JobStatus,
  end: { result?: unknown; error?: string; code?: 'worker_lost' | 'handler_error'; losses?: number } = {},
): JobBody {
  const ended = status === 'succeeded' || status === 'failed' || status === 'canceled';
  return {
    id: job.id!,
    route: job.name,
    status,
    progress: status === 'succeeded' ? 100 : typeof job.progress === 'number' ? job.progress : 0,
    result: status === 'succeeded' ? (end.result ?? null) : null,
    error: status === 'failed' ? (end.error ?? null) : null,
    error_code: status === 'failed' ? (end.code ?? 'handler_error') : null,
    attempts: Math.max(1, job.attemptsStarted),
    worker_losses: end.losses ?? 0,
    created_at: new Date(job.timestamp).toISOString(),
    started_at: job.processedOn ? new Date(job.processedOn).toISOString() : null,
    finished_at: ended ? new Date(job.finishedOn ?? Date.now()).toISOString() : null,
    webhook: null,
  };
}

/** The states of a job; the last three are final. */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

/** Whether a job has ended. */
export function isFinished(status: JobStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'canceled';
}

/** The events a job's webhook may report. */
export type JobWebhookEvent = 'started' | 'progress' | 'output' | 'succeeded' | 'failed' | 'canceled';

/** A job's webhook and how its deliveries went. */
export interface JobWebhook {
  url: string;
  events: JobWebhookEvent[];
  /** `pending` while a delivery waits or retries (or none was due yet), `failed` once one gave up. */
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status: number | null;
}

/** `GET /jobs/:id`: a job and, once it ended, its result or error. */
export interface JobBody<R = unknown> {
  id: string;
  route: string;
  status: JobStatus;
  progress: number;
  result: R | null;
  error: unknown;
  /** `worker_lost`, `handler_error` or `deadline_exceeded` once it failed or was canceled at its deadline. */
  error_code?: string | null;
  /** A streaming job's chunks so far; absent when it has streamed nothing. */
  output?: unknown[];
  attempts: number;
  created_at: string | number | null;
  started_at: string | number | null;
  finished_at: string | number | null;
  webhook: JobWebhook | null;
}

/** The answer to a background submit (202, or 200 for a repeated `Idempotency-Key`). */
export interface SubmitResult {
  success: true;
  started: true;
  id: string;
  status: JobStatus;
  status_url: string;
}

/** One event of a job's event stream: `progress`, then `succeeded`, `failed` or `canceled`. */
export interface JobEvent {
  event: string;
  /** The event's data, parsed as JSON when it is JSON. */
  data: unknown;
  id: string | undefined;
}

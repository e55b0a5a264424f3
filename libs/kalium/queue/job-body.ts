/** A job's status as SPEC §4 names it. */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

/** The body of `GET /jobs/:id` (and of webhook payloads, plus `event`). */
export interface JobBody {
  id: string;
  route: string;
  status: JobStatus;
  /** 0–100. */
  progress: number;
  /** The handler's return value once succeeded, else null. */
  result: unknown;
  /** The failure's message once failed, else null. */
  error: string | null;
  /**
   * Why it failed once failed: `worker_lost` (see worker_losses), else `handler_error`; `deadline_exceeded`
   * for a job canceled at its deadline (SPEC §14); null otherwise.
   */
  error_code: 'worker_lost' | 'handler_error' | 'deadline_exceeded' | null;
  /** A streaming job's chunks so far (SPEC §14); absent for a job that has streamed nothing. */
  output?: unknown[];
  /** Runs started so far (1 on the first run). */
  attempts: number;
  /** Workers that died while running the job's handler (SPEC §17); these runs do not use up `attempts`. */
  worker_losses: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** The webhook's delivery state; null when the job has none. */
  webhook: unknown;
}

/** What the DELETE of a job records, durably: enough to answer for a queued job that was removed. */
export interface CanceledRecord {
  canceledAt: number;
  route: string;
  createdAt: number;
  startedAt: number | null;
  attempts: number;
  progress: number;
  /** Absent in records written before worker losses were counted. */
  workerLosses?: number;
  bodyHash: string;
  /** Set when the worker canceled the job at its deadline (SPEC §14), with the message shown as `error`. */
  code?: 'deadline_exceeded';
  message?: string;
}

/** The fields of a BullMQ job that a status needs. */
export interface JobFields {
  name: string;
  timestamp: number;
  processedOn: number | undefined;
  finishedOn: number | undefined;
  progress: unknown;
  attemptsStarted: number;
  failedReason: string | undefined;
  /** Workers lost while running its handler (kalium's field of the job hash). */
  workerLosses: number;
  /** The error code kalium failed it with itself, if any. */
  errorCode: string | undefined;
}

/** Everything read about one job, at about one moment. */
export interface JobSnapshot {
  id: string;
  /** undefined when BullMQ has no such job (never was, expired, or removed on cancel). */
  job: JobFields | undefined;
  /** BullMQ's state name (`waiting`, `active`, `completed`, …, `unknown`). */
  state: string;
  canceled: CanceledRecord | undefined;
  /** The stored result; `found` false when there is none (not finished, or expired). */
  result: { found: boolean; value: unknown };
}

/** How a run ended (or that it runs), as the worker knows it when it tells the hooks. */
export type RunEnd =
  | { status: 'running' }
  | { status: 'succeeded'; result: unknown }
  | { status: 'failed'; error: string; code?: 'worker_lost' }
  | { status: 'canceled'; record: CanceledRecord };

/**
 * The snapshot a worker's event stands for: what `GET /jobs/:id` would read at that moment, so an
 * event's (and a webhook's) body is built by toJobBody like the answer to GET, and cannot disagree.
 * A canceled job is read from its record alone, as GET reads it once the worker has dropped the job.
 */
export function runSnapshot(id: string, job: JobFields, end: RunEnd): JobSnapshot {
  const none = { found: false, value: null };
  switch (end.status) {
    case 'running':
      return { id, job, state: 'active', canceled: undefined, result: none };
    case 'succeeded':
      return { id, job, state: 'completed', canceled: undefined, result: { found: true, value: end.result } };
    case 'failed':
      return { id, job: { ...job, failedReason: end.error, errorCode: end.code ?? job.errorCode }, state: 'failed', canceled: undefined, result: none };
    case 'canceled':
      return { id, job: undefined, state: 'unknown', canceled: end.record, result: none };
  }
}

const QUEUED_STATES = new Set(['waiting', 'delayed', 'prioritized', 'paused', 'waiting-children']);

/** Whether a status is an end state. */
export function isFinished(status: JobStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'canceled';
}

/**
 * Maps BullMQ's view of a job, its cancel marker and its stored result to SPEC's job body; undefined
 * when the job is unknown or has expired (finished longer than RESULT_TTL ago: BullMQ evicts old jobs
 * only when later ones finish, so age is checked here too).
 *
 * A stored result means succeeded, a cancel marker canceled, whatever BullMQ's state: the worker
 * stores a result only when there is no marker and DELETE sets a marker only when there is no result,
 * so at most one of them exists. (A result is stored, and watchers told, just before BullMQ records the
 * job completed; in that moment `finished_at` is the time of the read.)
 */
export function toJobBody(snapshot: JobSnapshot, resultTtlMs: number, now = Date.now()): Omit<JobBody, 'webhook'> | undefined {
  const { id, job, state, canceled, result } = snapshot;
  if (canceled && !result.found) return canceledBody(id, job, canceled);
  if (!job) return undefined;
  if (job.finishedOn !== undefined && job.finishedOn + resultTtlMs <= now) return undefined;
  const body = (status: JobStatus, end: { result?: unknown; error?: string } = {}): Omit<JobBody, 'webhook'> => ({
    id,
    route: job.name,
    status,
    progress: status === 'succeeded' ? 100 : toProgress(job.progress),
    result: end.result ?? null,
    error: end.error ?? null,
    error_code: status === 'failed' ? (job.errorCode === 'worker_lost' ? 'worker_lost' : 'handler_error') : null,
    attempts: job.attemptsStarted,
    worker_losses: job.workerLosses,
    created_at: iso(job.timestamp),
    started_at: isoOrNull(job.processedOn),
    finished_at: status === 'succeeded' || status === 'failed' ? iso(job.finishedOn ?? now) : null,
  });
  if (result.found) return body('succeeded', { result: result.value });
  // A completed job whose result is gone has expired (the result's TTL ran out first).
  if (state === 'completed') return undefined;
  if (state === 'failed') return body('failed', { error: job.failedReason ?? 'The job failed.' });
  if (state === 'active') return body('running');
  if (QUEUED_STATES.has(state)) return body('queued');
  return undefined;
}

function canceledBody(id: string, job: JobFields | undefined, record: CanceledRecord): Omit<JobBody, 'webhook'> {
  return {
    id,
    route: job?.name ?? record.route,
    status: 'canceled',
    progress: toProgress(job?.progress ?? record.progress),
    result: null,
    error: record.code ? (record.message ?? null) : null,
    error_code: record.code ?? null,
    attempts: job?.attemptsStarted ?? record.attempts,
    worker_losses: job?.workerLosses ?? record.workerLosses ?? 0,
    created_at: iso(job?.timestamp ?? record.createdAt),
    // From the record: a worker taking the job after the cancel (it then fails it unrun) must not make
    // it look started after it finished.
    started_at: isoOrNull(record.startedAt),
    finished_at: iso(record.canceledAt),
  };
}

function toProgress(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : 0;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | undefined | null): string | null {
  return ms === undefined || ms === null || !Number.isFinite(ms) ? null : iso(ms);
}

import type { Job, Queue } from 'bullmq';
import type { RedisClient } from '../redis/connection.ts';
import { JOB_FIELDS, type AppKeys } from '../redis/keys.ts';
import type { CanceledRecord, JobFields, JobSnapshot } from './job-body.ts';
import type { JobData } from './job-data.ts';

/**
 * The BullMQ job-hash fields a status needs. Read by name rather than with `Job.fromId` because that
 * loads the job's data, i.e. the whole request body (up to BODY_LIMIT), on every poll.
 */
const FIELDS = ['name', 'timestamp', 'processedOn', 'finishedOn', 'progress', 'ats', 'failedReason', JOB_FIELDS.stalls, JOB_FIELDS.forgiven, JOB_FIELDS.errorCode] as const;

/** Reads what is known about one job: its BullMQ state and fields, its cancel marker, its result. */
export async function readSnapshot(queue: Queue, redis: RedisClient, keys: AppKeys, id: string): Promise<JobSnapshot> {
  const resultKey = keys.store(id);
  const jobKey = queue.toKey(id);
  // Sent together; BullMQ's state script leaves a little later (it awaits its client first), so a job
  // that moves on meanwhile can show a newer state than its fields: those are read again then.
  const [state, fields, marker, result] = await Promise.all([
    queue.getJobState(id),
    redis.hmget(jobKey, ...FIELDS),
    redis.get(keys.jobCanceled(id)),
    redis.get(resultKey),
  ]);
  let job = parseFields(fields);
  const behind = job && ((state === 'active' && !job.processedOn) || ((state === 'completed' || state === 'failed') && !job.finishedOn));
  if (behind) job = parseFields(await redis.hmget(jobKey, ...FIELDS));
  let stored = result;
  if (state === 'completed' && stored === null) stored = await redis.get(resultKey);
  return {
    id,
    job,
    state,
    canceled: parseRecord(marker),
    result: stored === null ? { found: false, value: null } : { found: true, value: JSON.parse(stored) as unknown },
  };
}

function parseFields(values: Array<string | null>): JobFields | undefined {
  const [name, timestamp, processedOn, finishedOn, progress, ats, failedReason, stalls, forgiven, errorCode] = values;
  if (name === null || name === undefined || !timestamp) return undefined;
  return {
    name,
    timestamp: Number(timestamp),
    processedOn: processedOn ? Number(processedOn) : undefined,
    finishedOn: finishedOn ? Number(finishedOn) : undefined,
    progress: progress ? safeJson(progress) : 0,
    attemptsStarted: ats ? Number(ats) : 0,
    failedReason: failedReason ?? undefined,
    // Workers lost while running the handler (SPEC §17): BullMQ's stalls less those before it started.
    workerLosses: Math.max(0, Number(stalls ?? 0) - Number(forgiven ?? 0)),
    errorCode: errorCode ?? undefined,
  };
}

/** The fields of a job the worker holds (BullMQ's Job), with the losses it counted, as a snapshot has them. */
export function fieldsOfJob(job: Job, workerLosses = 0): JobFields {
  return {
    name: job.name,
    timestamp: job.timestamp,
    processedOn: job.processedOn,
    finishedOn: job.finishedOn,
    progress: job.progress,
    attemptsStarted: job.attemptsStarted,
    failedReason: job.failedReason || undefined,
    workerLosses,
    errorCode: undefined,
  };
}

/** A cancel record for a job whose marker could not be read (it expired): from the job's own fields. */
export function recordOfJob(job: Job, workerLosses = 0): CanceledRecord {
  return {
    canceledAt: job.finishedOn ?? Date.now(),
    route: job.name,
    createdAt: job.timestamp,
    startedAt: job.processedOn ?? null,
    attempts: job.attemptsStarted,
    progress: typeof job.progress === 'number' ? job.progress : 0,
    workerLosses,
    bodyHash: '',
  };
}

export function parseRecord(raw: string | null): CanceledRecord | undefined {
  if (raw === null) return undefined;
  const record = safeJson(raw) as CanceledRecord | undefined;
  return record && typeof record.canceledAt === 'number' ? record : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A job's data (the whole request: read only where needed), or undefined when there is no such job. */
export async function readJobData(queue: Queue, redis: RedisClient, id: string): Promise<JobData | undefined> {
  const raw = await redis.hget(queue.toKey(id), 'data');
  return raw === null ? undefined : (JSON.parse(raw) as JobData);
}

import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connection.ts';
import type { AppKeys } from '../redis/keys.ts';
import { withScripts } from '../redis/scripts.ts';
import type { CanceledRecord } from './job-body.ts';
import { encodeNotice } from './job-notices.ts';

/** What job-cancel.lua did: `canceled` now, `succeeded` already (nothing changes), `already` canceled. */
export type CancelCommit = 'canceled' | 'succeeded' | 'already';

/**
 * Commits a job's cancel in one script (job-cancel.lua): the durable marker (refused once a result is
 * stored), BullMQ's deferred failure on its hash, its place in the counts, and the pub/sub messages to
 * workers and watchers.
 */
export async function commitCancel(redis: RedisClient, queue: Queue, keys: AppKeys, id: string, record: CanceledRecord, ttlSeconds: number): Promise<CancelCommit> {
  const outcome = await withScripts(redis).kaliumJobCancel(
    keys.store(id),
    keys.jobCanceled(id),
    queue.toKey(id),
    keys.canceledJobs,
    JSON.stringify(record),
    String(ttlSeconds),
    keys.jobCancels,
    keys.jobNotices(id),
    id,
    encodeNotice({ id, type: 'changed' }),
    String(record.canceledAt),
  );
  return outcome === 1 ? 'canceled' : outcome === 0 ? 'succeeded' : 'already';
}

/** Whether this process is the one to announce the job's cancel to the hooks (the api or the worker, once). */
export async function claimCancelAnnouncement(redis: RedisClient, keys: AppKeys, id: string, ttlSeconds: number): Promise<boolean> {
  return (await redis.set(keys.jobCancelAnnounced(id), '1', 'EX', ttlSeconds, 'NX')) === 'OK';
}

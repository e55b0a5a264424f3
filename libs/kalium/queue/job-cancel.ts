import type { RedisClient } from '../redis/connection.ts';
import type { AppKeys } from '../redis/keys.ts';
import { errors } from '../errors/kalium-error.ts';
import { readLua } from '../redis/lua.ts';
import { onBackend } from './backend-call.ts';
import { isFinished, toJobBody, type CanceledRecord, type JobBody } from './job-body.ts';
import { announce } from './job-hooks.ts';
import { encodeNotice } from './job-notices.ts';
import { readJobData, readSnapshot } from './job-reader.ts';
import type { JobsContext } from './jobs-context.ts';

const CANCEL = readLua(import.meta.url, './cancel.lua');

type CancelRedis = RedisClient & {
  kaliumJobCancel(resultKey: string, markerKey: string, jobKey: string, canceledKey: string, ...args: string[]): Promise<number>;
};

/**
 * Cancels a job. The durable marker comes first (cancel.lua, atomically refused once a result is
 * stored), so from then on no worker starts the job and a running one learns of it (pub/sub now, or
 * the marker when it next looks). A job that was still queued is then removed from the queue, its
 * marker keeping what its status needs; a job a worker holds is left for that worker to stop.
 * @throws KaliumError 404 `job_not_found`, 409 `job_finished` (succeeded, failed or canceled already,
 * as SPEC §4 says of any job that has ended; a second cancel changes nothing).
 */
export async function cancelJob(context: JobsContext, id: string, read: (id: string) => Promise<JobBody | undefined>): Promise<JobBody> {
  const { queue, keys } = context;
  const redis = withCancelCommand(context.redis);
  const snapshot = await onBackend(() => readSnapshot(queue, redis, keys, id));
  const before = toJobBody(snapshot, context.resultTtlSeconds * 1000);
  if (!before) throw errors.jobNotFound(id);
  if (isFinished(before.status)) throw errors.jobFinished(id, before.status);

  const queued = before.status === 'queued';
  // A queued job is removed below: read what its record and hooks need first.
  const data = queued ? await onBackend(() => readJobData(queue, redis, id)) : undefined;
  const record: CanceledRecord = {
    canceledAt: Date.now(),
    route: before.route,
    createdAt: Date.parse(before.created_at),
    startedAt: before.started_at === null ? null : Date.parse(before.started_at),
    attempts: before.attempts,
    progress: before.progress,
    workerLosses: before.worker_losses,
    bodyHash: data?.bodyHash ?? '',
  };
  const outcome = await onBackend(() =>
    redis.kaliumJobCancel(
      keys.store(id),
      keys.jobCanceled(id),
      queue.toKey(id),
      keys.canceledJobs,
      JSON.stringify(record),
      String(context.resultTtlSeconds),
      keys.jobCancels,
      keys.jobNotices(id),
      id,
      encodeNotice({ id, type: 'changed' }),
      String(record.canceledAt),
    ),
  );
  if (outcome === 0) throw errors.jobFinished(id, 'succeeded');
  // A job a worker holds is the worker's to stop and to report `canceled` to the hooks. A queued one
  // is removed here; should a worker take it first (it then fails it unrun), whichever of the two
  // claims the announcement first makes it, so the hooks hear of the cancel once.
  if (queued && outcome === 1) await onBackend(() => queue.remove(id));
  const after = (await read(id)) ?? { ...toJobBody({ ...snapshot, job: undefined, canceled: record }, Infinity)!, webhook: null };
  if (queued && outcome === 1 && (await claimCancelAnnouncement(redis, keys, id, context.resultTtlSeconds))) {
    await announce(context.hooks, context.logger, 'canceled', after, data?.extra);
  }
  return after;
}

/** Whether this process is the one to announce the job's cancel (the api or the worker, once). */
export async function claimCancelAnnouncement(redis: RedisClient, keys: AppKeys, id: string, ttlSeconds: number): Promise<boolean> {
  return (await redis.set(keys.jobCancelAnnounced(id), '1', 'EX', ttlSeconds, 'NX')) === 'OK';
}

function withCancelCommand(redis: RedisClient): CancelRedis {
  if (!('kaliumJobCancel' in redis)) redis.defineCommand('kaliumJobCancel', { numberOfKeys: 4, lua: CANCEL });
  return redis as CancelRedis;
}

import type { Job } from 'bullmq';
import type { RedisClient } from '../redis/connection.ts';
import type { Logger } from '../log/logger.ts';
import { JOB_FIELDS, type AppKeys } from '../redis/keys.ts';
import { writeCoalescer } from '../redis/write-coalescing.ts';
import { preloadScripts, withScripts, type ScriptedRedis } from '../redis/scripts.ts';
import { encodeNotice, type JobNotice } from '../queue/job-notices.ts';
import type { CanceledRecord } from '../queue/job-body.ts';
import { claimCancelAnnouncement } from '../queue/cancel-commands.ts';
import { parseRecord } from '../queue/job-reader.ts';


/**
 * Where a job taken again stands before it runs: canceled, done by an earlier run (its result), lost
 * (its workers died `KALIUM_MAX_WORKER_LOSSES` times), or to be run. `losses` counts the workers lost
 * so far, `lostNow` whether this take counted one.
 */
export type Precheck =
  | { state: 'canceled' }
  | { state: 'done'; result: unknown }
  | { state: 'lost'; losses: number }
  | { state: 'run'; losses: number; lostNow: boolean };

/** What became of storing a result. */
export type Stored = 'stored' | 'kept-earlier' | 'canceled';

/**
 * The worker's reads and writes of kalium's own job records: cancel markers, results in the app's
 * Store, worker losses, and the notices api processes watch. On a connection that waits for Redis to
 * come back rather than failing: a worker has no caller to answer meanwhile.
 */
export class JobRecords {
  readonly #redis: ScriptedRedis;
  readonly #keys: AppKeys;
  readonly #jobKey: (id: string) => string;
  readonly #resultTtl: number;
  readonly #maxLosses: number;
  readonly #logger: Logger;
  readonly #coalesce: () => void;

  constructor(redis: RedisClient, keys: AppKeys, jobKey: (id: string) => string, options: { resultTtl: number; maxWorkerLosses: number }, logger: Logger) {
    // The result's script goes just before BullMQ's completion of the job, and must stay before it.
    preloadScripts(redis, ['kaliumJobFinish']);
    this.#redis = withScripts(redis);
    this.#keys = keys;
    this.#jobKey = jobKey;
    this.#resultTtl = options.resultTtl;
    this.#maxLosses = options.maxWorkerLosses;
    this.#logger = logger;
    this.#coalesce = writeCoalescer(redis);
  }

  /**
   * Sends what goes out on the records' connection (these records and BullMQ's commands, see
   * JobWorker) until the next setImmediate in one write.
   */
  coalesce(): void {
    this.#coalesce();
  }

  /**
   * For each job taken again (a retry, or its worker died): see Precheck. Marks the take as waiting
   * (see JOB_FIELDS.waiting) until `started`.
   */
  async precheck(ids: readonly string[]): Promise<Precheck[]> {
    const redis = this.#redis;
    const keys = this.#keys;
    const max = String(this.#maxLosses);
    this.#coalesce();
    const replies = await Promise.all(
      ids.map((id) => redis.kaliumRerunCheck(keys.jobCanceled(id), keys.store(id), this.#jobKey(id), max)),
    );
    return replies.map(([canceled, losses, lostNow, result]): Precheck => {
      if (canceled === 1) return { state: 'canceled' };
      if (result !== null) return { state: 'done', result: JSON.parse(result) as unknown };
      return losses >= this.#maxLosses ? { state: 'lost', losses } : { state: 'run', losses, lostNow: lostNow === 1 };
    });
  }

  /** Which of these jobs have been canceled. */
  async canceled(ids: readonly string[]): Promise<Set<string>> {
    const found = await Promise.all(ids.map((id) => this.#redis.exists(this.#keys.jobCanceled(id))));
    return new Set(ids.filter((_, i) => found[i] === 1));
  }

  /**
   * Marks a take of these jobs as waiting before their handler starts: should this worker die now, the
   * stall is forgiven (SPEC §17: a worker dying before the handler started is not counted). A take
   * that waits for nothing sends nothing. Not awaited: it leaves with what is waited for.
   */
  waiting(ids: readonly string[]): void {
    for (const id of ids) this.#redis.hset(this.#jobKey(id), JOB_FIELDS.waiting, 1).catch(() => undefined); // missed: a death now counts
  }

  /** The handlers of these waiting jobs start: from here a worker's death counts as lost. Not awaited. */
  started(ids: readonly string[]): void {
    for (const id of ids) {
      this.#redis.hdel(this.#jobKey(id), JOB_FIELDS.waiting).catch((error: unknown) => {
        this.#logger.warn({ err: error, jobId: id }, 'could not mark the job’s handler as started (a crash now would not count as a lost worker)');
      });
    }
  }

  /**
   * Stores a result once (SET NX), with RESULT_TTL, unless the job was canceled meanwhile; watchers
   * are told at once (a stored result is what makes a job succeeded). Coalesced: BullMQ's completion of
   * the job, sent right after on the same connection, leaves in the same write. Measured with
   * bench/support/worker-profile.ts (worker alone vs a bare BullMQ worker, two runs each): 0.65× and
   * 0.64× coalesced, 0.48× and 0.46× with coalescing turned off.
   */
  async store(id: string, json: string): Promise<Stored> {
    const notice = encodeNotice({ id, type: 'changed' });
    this.#coalesce();
    const outcome = await this.#redis.kaliumJobFinish(
      this.#keys.jobCanceled(id),
      this.#keys.store(id),
      json,
      String(this.#resultTtl),
      this.#keys.jobNotices(id),
      notice,
    );
    return outcome === 1 ? 'stored' : outcome === 0 ? 'kept-earlier' : 'canceled';
  }

  /**
   * Once a canceled job's run has ended: keeps its marker as long as a finished job, and tells whether
   * this process is the one to announce the cancel to the hooks, and with what record. A job still in
   * BullMQ's sets (completed there because the cancel came just before its result) is taken out of them:
   * a canceled job is not a finished one in any count, and the dashboard cannot retry it. (A job the
   * worker failed as canceled left them in that same command: see QueueTaker.fail.)
   */
  async dropCanceled(job: Job, inBullmqSets: boolean): Promise<{ announce: boolean; record: CanceledRecord | undefined }> {
    const id = job.id!;
    const [, , marker, announce] = await Promise.all([
      inBullmqSets ? job.remove().catch((error: unknown) => this.#logger.warn({ err: error, jobId: id }, 'could not remove a canceled job from the queue')) : undefined,
      this.#redis.expire(this.#keys.jobCanceled(id), this.#resultTtl),
      this.#redis.get(this.#keys.jobCanceled(id)),
      claimCancelAnnouncement(this.#redis, this.#keys, id, this.#resultTtl),
    ]);
    return { announce, record: parseRecord(marker) };
  }

  /** Tells api processes about a job; fire and forget (notices are hints). */
  notice(notice: JobNotice): void {
    this.#redis.publish(this.#keys.jobNotices(notice.id), encodeNotice(notice)).catch((error: unknown) => {
      this.#logger.debug({ err: error, jobId: notice.id }, 'could not publish a job notice');
    });
  }
}

import type { RedisClient } from '../redis/connection.ts';
import type { Logger } from '../log/logger.ts';
import type { AppKeys } from '../redis/keys.ts';
import { afterNextWrite, writeCoalescer } from '../redis/write-coalescing.ts';
import { readLua } from '../redis/lua.ts';
import { encodeNotice, type JobNotice } from '../queue/job-notices.ts';

const FINISH = readLua(import.meta.url, './finish.lua');

type RecordsRedis = RedisClient & {
  kaliumJobFinish(markerKey: string, resultKey: string, result: string, ttl: string, channel: string, notice: string): Promise<number>;
};

/** Where a job stands before it runs: canceled, already done by an earlier run (its result), or to be run. */
export type Precheck = { state: 'canceled' } | { state: 'done'; result: unknown } | { state: 'run' };

/** What became of storing a result. */
export type Stored = 'stored' | 'kept-earlier' | 'canceled';

/**
 * The worker's reads and writes of kalium's own job records: cancel markers, results in the app's
 * Store, and the notices api processes watch. On a connection that waits for Redis to come back
 * rather than failing: a worker has no caller to answer meanwhile.
 */
export class JobRecords {
  readonly #redis: RecordsRedis;
  readonly #keys: AppKeys;
  readonly #resultTtl: number;
  readonly #logger: Logger;
  readonly #coalesce: () => void;

  constructor(redis: RedisClient, keys: AppKeys, resultTtlSeconds: number, logger: Logger) {
    if (!('kaliumJobFinish' in redis)) redis.defineCommand('kaliumJobFinish', { numberOfKeys: 2, lua: FINISH });
    // Loaded whenever the connection (re)opens, ahead of any use: were it missing (a Redis restart),
    // ioredis would send it again after BullMQ's completion of the job, out of order.
    const load = () => void redis.script('LOAD', FINISH).catch(() => undefined);
    redis.on('ready', load);
    if (redis.status === 'ready') load();
    this.#redis = redis as RecordsRedis;
    this.#keys = keys;
    this.#resultTtl = resultTtlSeconds;
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

  /** Runs `fn` once the pending write of the records' connection has left (see afterNextWrite). */
  afterWrite(fn: () => void): void {
    afterNextWrite(this.#redis, fn);
  }

  /**
   * For each job: canceled (never to run), done (an earlier run stored its result but died before
   * BullMQ heard of it: not run again), or to run.
   */
  async precheck(ids: readonly string[]): Promise<Precheck[]> {
    const redis = this.#redis;
    this.#coalesce();
    const replies = await Promise.all(ids.map((id) => Promise.all([redis.exists(this.#keys.jobCanceled(id)), redis.get(this.#keys.store(id))])));
    return replies.map(([canceled, result]): Precheck => {
      if (canceled === 1) return { state: 'canceled' };
      return result !== null ? { state: 'done', result: JSON.parse(result) as unknown } : { state: 'run' };
    });
  }

  /** Which of these jobs have been canceled. */
  async canceled(ids: readonly string[]): Promise<Set<string>> {
    const found = await Promise.all(ids.map((id) => this.#redis.exists(this.#keys.jobCanceled(id))));
    return new Set(ids.filter((_, i) => found[i] === 1));
  }

  /**
   * Stores a result once (SET NX), with RESULT_TTL, unless the job was canceled meanwhile; watchers
   * are told at once (a stored result is what makes a job succeeded). Coalesced: BullMQ's completion of
   * the job, sent right after on the same connection, leaves in the same write.
   */
  async store(id: string, json: string): Promise<Stored> {
    const notice = encodeNotice({ id, type: 'changed' });
    this.#coalesce();
    const outcome = await this.#redis.kaliumJobFinish(this.#keys.jobCanceled(id), this.#keys.store(id), json, String(this.#resultTtl), this.#keys.jobNotices(id), notice);
    return outcome === 1 ? 'stored' : outcome === 0 ? 'kept-earlier' : 'canceled';
  }

  /** Refreshes a canceled job's marker so it lives as long as the finished job (RESULT_TTL from now). */
  async touchCanceled(id: string): Promise<void> {
    await this.#redis.expire(this.#keys.jobCanceled(id), this.#resultTtl);
  }

  /** Tells api processes about a job; fire and forget (notices are hints). */
  notice(notice: JobNotice): void {
    this.#redis.publish(this.#keys.jobNotices(notice.id), encodeNotice(notice)).catch((error: unknown) => {
      this.#logger.debug({ err: error, jobId: notice.id }, 'could not publish a job notice');
    });
  }
}

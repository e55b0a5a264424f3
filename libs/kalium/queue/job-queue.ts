import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connection.ts';
import type { Request } from '../app/request.ts';
import type { BackgroundRoute } from '../app/routes.ts';
import { errors } from '../errors/kalium-error.ts';
import type { Logger } from '../log/logger.ts';
import type { AppKeys } from '../redis/keys.ts';
import { writeCoalescer } from '../redis/write-coalescing.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { readOutput, readOutputField, type OutputChunk } from '../stream/job-output.ts';
import { onBackend } from './backend-call.ts';
import { claimCancelAnnouncement, commitCancel } from './cancel-commands.ts';
import { isFinished, toJobBody, type CanceledRecord, type JobBody } from './job-body.ts';
import { bodyHash, EVENTS_MAX_LEN, jobOptions, type JobData } from './job-data.ts';
import { announce, type JobHooks } from './job-hooks.ts';
import { isJobId, jobIdForKey, newJobId } from './job-ids.ts';
import type { JobPolicy } from './job-policy.ts';
import { parseRecord, readJobData, readSnapshot } from './job-reader.ts';

/** What a JobQueue takes from the process's runtime. */
export type JobQueueParts = Pick<Runtime, 'redis' | 'keys' | 'config' | 'logger' | 'app' | 'queues'>;

/** The states counted against QUEUE_MAX: jobs not yet running. */
const QUEUED_TYPES = ['waiting', 'paused', 'prioritized', 'delayed'] as const;

/** How old a count of queued jobs may be while the queue is less than half full. */
const COUNT_FRESH_MS = 1000;

/**
 * The api's side of the app's job queue: one BullMQ queue (`jobs`) under the app's hash-tagged prefix,
 * on the runtime's fail-fast command connection (no offline queue), so a request never waits on a
 * Redis that is down.
 */
export class JobQueue {
  readonly queue: Queue<JobData>;
  readonly #redis: RedisClient;
  readonly #keys: AppKeys;
  readonly #resultTtlSeconds: number;
  readonly #hooks: readonly JobHooks[];
  readonly #logger: Logger;
  readonly #app: string;
  readonly #queueMax: number;
  /** Sends the commands of one turn in one write (see write-coalescing.ts). */
  readonly #coalesce: () => void;
  /** The last count of queued jobs, when it was taken, and the submits admitted on it since. */
  #counted: { at: number; queued: number; since: number } | undefined;

  /** @param runtime - the parts of the process's runtime a queue uses (not the whole of it). */
  constructor(runtime: JobQueueParts, hooks: readonly JobHooks[] = []) {
    this.#redis = runtime.redis;
    this.#keys = runtime.keys;
    this.#resultTtlSeconds = runtime.config.resultTtl;
    this.#hooks = hooks;
    this.#logger = runtime.logger;
    this.#app = runtime.app.name;
    this.#queueMax = runtime.config.queueMax;
    this.#coalesce = writeCoalescer(runtime.redis);
    this.queue = new Queue<JobData>(runtime.keys.jobQueue, {
      connection: runtime.redis,
      prefix: runtime.keys.prefix,
      // The version check runs INFO once at connect; on a fail-fast connection a failure there would
      // leave the queue unusable for good. kalium needs Redis >= 6.2 and says so in its docs.
      skipVersionCheck: true,
      streams: { events: { maxLen: EVENTS_MAX_LEN } },
    });
    this.queue.on('error', (error) => this.#logger.debug({ err: error }, 'job queue connection error'));
    // For the dashboard and /metrics, with the `canceled` count BullMQ does not have.
    runtime.queues.register(this.queue, async () => ({ canceled: await this.canceledCount() }));
  }

  /**
   * Queues a request to a background route; resolves once the job is in Redis. With an idempotency
   * key, the key names the job: a repeat finds it (`created: false`), or is refused with 422 when its
   * body differs.
   * @throws KaliumError 503 `queue_full`, 503 `backend_unavailable`, 422 `idempotency_key_reused`.
   */
  async submit(route: BackgroundRoute, request: Request, idempotencyKey?: string, policy?: JobPolicy): Promise<{ id: string; created: boolean }> {
    if (idempotencyKey === undefined) {
      const id = newJobId();
      await this.#add(route, id, { route: route.path, request: request.toData(), policy }, request);
      return { id, created: true };
    }
    const id = jobIdForKey(this.#app, idempotencyKey);
    const hash = bodyHash(route.path, request.body);
    const existing = await onBackend(async () => {
      await this.queue.waitUntilReady();
      return this.#storedHash(id);
    });
    if (existing !== undefined) return this.#repeat(id, existing, hash);
    const nonce = randomUUID();
    await this.#add(route, id, { route: route.path, request: request.toData(), bodyHash: hash, nonce, policy }, request);
    // Another submit with the same key may have added it between our check and our add.
    const stored = await onBackend(() => readJobData(this.queue, this.#redis, id));
    if (stored && stored.nonce !== nonce) return this.#repeat(id, stored.bodyHash ?? '', hash);
    return { id, created: true };
  }

  /**
   * Adds a job once the hooks accepted it and the queue has room. The connection is awaited within the
   * deadline, so the add itself is only ever sent on a ready connection: never left pending to land
   * after the client was told 503. An add already sent when the deadline passes is waited for (the
   * connection's own watchdog bounds it): its answer, not the deadline, says whether the job exists, so
   * a 503 never hides a job made after all (seen on a loaded machine just after a Redis restart, where
   * the first add also loads BullMQ's script).
   */
  async #add(route: BackgroundRoute, id: string, data: JobData, request: Request): Promise<void> {
    const extra = await this.#accept(request, route, id);
    if (extra) data.extra = extra;
    let sent: Promise<unknown> | undefined;
    try {
      await onBackend(async (late) => {
        await this.queue.waitUntilReady();
        await this.#admit();
        if (late.aborted) return;
        this.#coalesce(); // under load, the adds of one turn leave in one write
        sent = this.queue.add(route.path, data, jobOptions(route, id, this.#resultTtlSeconds, data.policy));
        await sent;
      });
    } catch (error) {
      if (!sent) throw error;
      await sent.catch(() => {
        throw error;
      });
    }
  }

  /** The job's body, or undefined when it is unknown or expired. */
  async read(id: string): Promise<JobBody | undefined> {
    if (!isJobId(id)) throw errors.invalidJobId(id);
    // Both reads go out together, in one write: a poll waits for one round trip, not two.
    this.#coalesce();
    const [snapshot, webhook, output] = await Promise.all([
      onBackend(() => readSnapshot(this.queue, this.#redis, this.#keys, id)),
      this.#webhook(id),
      onBackend(() => readOutputField(this.#redis, this.#keys, id)),
    ]);
    const body = toJobBody(snapshot, this.#resultTtlSeconds * 1000);
    return body && { ...body, ...(output && { output }), webhook };
  }

  /** A streaming job's output chunks after the cursor `after`, or all (SPEC §14; the event stream's replay). */
  async output(id: string, after?: string): Promise<OutputChunk[]> {
    return onBackend(() => readOutput(this.#redis, this.#keys, id, after));
  }

  /**
   * Cancels a job; answers with its state. The durable marker comes first (commitCancel), so from then
   * on no worker starts the job (one taking it reads the cancel with it) and a running one learns of it
   * by pub/sub. A job that was still queued is then removed from the queue, its marker keeping what its
   * status needs; a job a worker holds is left for that worker to stop and to report.
   * @throws KaliumError 400 `invalid_job_id`, 404 `job_not_found`, 409 `job_finished` (succeeded,
   * failed or canceled already: a second cancel changes nothing).
   */
  async cancel(id: string): Promise<JobBody> {
    if (!isJobId(id)) throw errors.invalidJobId(id);
    const snapshot = await onBackend(() => readSnapshot(this.queue, this.#redis, this.#keys, id));
    const before = toJobBody(snapshot, this.#resultTtlSeconds * 1000);
    if (!before) throw errors.jobNotFound(id);
    if (isFinished(before.status)) throw errors.jobFinished(id, before.status);
    const queued = before.status === 'queued';
    // A queued job is removed below: read what its record and hooks need first.
    const data = queued ? await onBackend(() => readJobData(this.queue, this.#redis, id)) : undefined;
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
    const commit = await onBackend(() => commitCancel(this.#redis, this.queue, this.#keys, id, record, this.#resultTtlSeconds));
    if (commit === 'succeeded') throw errors.jobFinished(id, 'succeeded');
    // Should a worker take the queued job before it is removed (it then fails it unrun), whichever of
    // the two claims the announcement first makes it: the hooks hear of the cancel once.
    if (queued && commit === 'canceled') await onBackend(() => this.queue.remove(id));
    const after = (await this.read(id)) ?? { ...toJobBody({ ...snapshot, job: undefined, canceled: record }, Infinity)!, webhook: null };
    if (queued && commit === 'canceled' && (await claimCancelAnnouncement(this.#redis, this.#keys, id, this.#resultTtlSeconds))) {
      await announce(this.#hooks, this.#logger, 'canceled', after, data?.extra);
    }
    return after;
  }

  /** Jobs by BullMQ state, and `canceled` (within RESULT_TTL), for `/__status__` and the queue gauge. */
  async counts(): Promise<Record<string, number>> {
    return onBackend(async () => {
      const [counts, canceled] = await Promise.all([
        this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'),
        this.canceledCount(),
      ]);
      return { ...counts, canceled };
    });
  }

  /**
   * Jobs canceled within RESULT_TTL. They are in none of BullMQ's sets (the api removes a queued one,
   * the worker one it ran), so BullMQ's `failed` does not count them.
   */
  async canceledCount(): Promise<number> {
    return this.#redis.zcount(this.#keys.canceledJobs, Date.now() - this.#resultTtlSeconds * 1000, '+inf');
  }

  async close(): Promise<void> {
    await this.queue.close();
  }

  /**
   * Refuses a submit with 503 `queue_full` once QUEUE_MAX jobs wait. The queue is counted for every
   * submit once it is half full; below that a count up to a second old, plus the submits admitted on
   * it, is enough (a round trip less per submit; other api processes' submits show at the next count).
   */
  async #admit(): Promise<void> {
    const counted = this.#counted;
    const now = Date.now();
    if (counted && now - counted.at < COUNT_FRESH_MS && counted.queued + counted.since < this.#queueMax / 2) {
      counted.since += 1;
      return;
    }
    const queued = await this.queue.getJobCountByTypes(...QUEUED_TYPES);
    this.#counted = { at: now, queued, since: 1 };
    if (queued >= this.#queueMax) throw errors.queueFull(this.#queueMax);
  }

  #repeat(id: string, stored: string, hash: string): { id: string; created: boolean } {
    if (stored !== hash) throw errors.idempotencyKeyReused();
    return { id, created: false };
  }

  /** The body hash of the job with this id, if there is one (queued, running, finished, or canceled and removed). */
  async #storedHash(id: string): Promise<string | undefined> {
    const [data, marker] = await Promise.all([readJobData(this.queue, this.#redis, id), this.#redis.get(this.#keys.jobCanceled(id))]);
    return data?.bodyHash ?? parseRecord(marker)?.bodyHash;
  }

  async #accept(request: Request, route: BackgroundRoute, id: string): Promise<Record<string, unknown> | undefined> {
    let extra: Record<string, unknown> | undefined;
    for (const hooks of this.#hooks) {
      const kept = await hooks.accept?.(request, route, id);
      if (kept) extra = { ...extra, ...kept };
    }
    return extra;
  }

  async #webhook(id: string): Promise<unknown> {
    for (const hooks of this.#hooks) {
      if (!hooks.webhook) continue;
      try {
        return (await hooks.webhook(id)) ?? null;
      } catch (error) {
        this.#logger.warn({ err: error, jobId: id }, 'could not read the job’s webhook state');
        return null;
      }
    }
    return null;
  }
}

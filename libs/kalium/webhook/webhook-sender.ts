import { createHash, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { onBackend } from '../queue/backend-call.ts';
import { closeRedis, type RedisClient } from '../redis/connection.ts';
import { resolveSchedule, type DeliverySchedule } from './delivery-schedule.ts';
import { DeliveryTracker, type AttemptRecord, type DeliveryOwner, type DeliveryState, type DeliveryStatus } from './delivery-tracker.ts';
import { checkWebhookTarget } from './webhook-target.ts';
import {
  configuredSchedule,
  trackerTtlSeconds,
  WEBHOOK_BACKOFF,
  WEBHOOK_QUEUE,
  type DeliveryData,
  type WebhookHost,
} from './webhook-host.ts';

/** Options of one `sendWebhook` delivery: its schedule (defaults from `WEBHOOK_*` config) and whether to wait. */
export interface SendWebhookOptions extends Partial<DeliverySchedule> {
  /** Resolve once the first attempt is over, with its outcome, instead of at once with the id. @defaultValue false */
  wait?: boolean;
  /** With `wait`: give up waiting after this long (the delivery goes on). @defaultValue the attempt timeout + 30 s */
  waitTimeoutMs?: number;
}

/** The outcome of a delivery's first attempt, as `sendWebhook(…, { wait: true })` reports it. */
export interface WebhookAttemptResult {
  id: string;
  /** `delivered`; `pending` when it failed and a retry is scheduled (or the attempt had not happened in time); `failed` when no retry will come. */
  state: DeliveryState;
  /** Attempts made so far: 0 if none happened within `waitTimeoutMs`. */
  attempts: number;
  status: number | null;
  error: string | null;
}

/**
 * Enqueues webhook deliveries on the app's `webhooks` queue. Deliveries are durable from the moment
 * `send` resolves: a webhook worker in any process of the app makes the attempts.
 */
export class WebhookSender {
  readonly #host: WebhookHost;
  readonly #tracker: DeliveryTracker;
  readonly #waiters = new Map<string, Set<(record: AttemptRecord | undefined) => void>>();
  #queue: Queue<DeliveryData> | undefined;
  #subscriber: Promise<RedisClient> | undefined;
  #closed = false;

  constructor(host: WebhookHost) {
    this.#host = host;
    this.#tracker = new DeliveryTracker(host.redis, host.keys, trackerTtlSeconds(host.config));
  }

  /**
   * Checks the target (400 `webhook_url_invalid` / `webhook_url_forbidden`) and enqueues a delivery of
   * `json`. Resolves to the delivery's id, the `webhook-id` every attempt carries.
   */
  async send(url: string, json: unknown, options: Partial<DeliverySchedule> = {}): Promise<string> {
    const { id, data } = await this.#prepare(url, json, options);
    await this.#enqueue(id, data);
    return id;
  }

  /** Like `send`, then waits for the first attempt's outcome. */
  async sendAndWait(url: string, json: unknown, options: SendWebhookOptions = {}): Promise<WebhookAttemptResult> {
    const { id, data } = await this.#prepare(url, json, options);
    await this.#subscribe();
    const first = this.#firstAttempt(id, options.waitTimeoutMs ?? data.schedule.timeoutMs + 30_000);
    await this.#enqueue(id, data).catch((error: unknown) => {
      first.cancel();
      throw error;
    });
    // The attempt may have been announced before the waiter was listening for this id; the hash has it.
    const seen = await this.#tracker.attemptsOf(data.owner, id);
    if (seen && seen.attempts > 0) first.cancel();
    const record = await first.promise;
    const status = await this.#tracker.status(data.owner);
    return {
      id,
      state: record?.state ?? status?.state ?? 'pending',
      attempts: record?.attempt ?? status?.attempts ?? 0,
      status: record?.status ?? status?.lastStatus ?? null,
      error: record?.error ?? status?.lastError ?? null,
    };
  }

  async #prepare(url: string, json: unknown, options: Partial<DeliverySchedule>): Promise<{ id: string; data: DeliveryData }> {
    const { attempts, backoffMs, maxBackoffMs, timeoutMs } = options;
    const schedule = resolveSchedule(configuredSchedule(this.#host.config), { attempts, backoffMs, maxBackoffMs, timeoutMs });
    const body = serialize(json);
    await checkWebhookTarget(url, this.#host.config.webhookAllowPrivate);
    const id = `msg_${randomUUID().replaceAll('-', '')}`;
    return { id, data: { url, body, schedule, owner: { delivery: id } } };
  }

  /**
   * Enqueues the delivery of one job event. Its id is derived from the job, the event and `occurrence`,
   * so an event reported twice (a job run again after a crash) is one delivery with one id.
   */
  async sendJobEvent(jobId: string, target: { url: string }, event: string, payload: unknown, occurrence = ''): Promise<string> {
    const digest = createHash('sha256').update(`${jobId}\n${event}\n${occurrence}`).digest('base64url').slice(0, 32);
    const id = `msg_${digest}`;
    const data: DeliveryData = { url: target.url, body: serialize(payload), schedule: configuredSchedule(this.#host.config), owner: { job: jobId }, event };
    await this.#enqueue(id, data, target);
    return id;
  }

  /** The delivery state of a job's webhook; undefined when nothing was recorded for the job. */
  jobStatus(jobId: string): Promise<DeliveryStatus | undefined> {
    return this.#tracker.status({ job: jobId });
  }

  /** Records where a job's webhook goes, so `GET /jobs/:id` can show it before any delivery. */
  describeJob(jobId: string, target: unknown): Promise<void> {
    return this.#tracker.describe({ job: jobId }, target);
  }

  /** The state of one `sendWebhook` delivery; undefined when unknown or expired. */
  deliveryStatus(id: string): Promise<DeliveryStatus | undefined> {
    return this.#tracker.status({ delivery: id });
  }

  /**
   * Records the delivery as pending (with what it targets), then queues it; within the backend
   * deadline, or 503 `backend_unavailable` (and then nothing is queued).
   */
  async #enqueue(id: string, data: DeliveryData, target: unknown = { url: data.url }): Promise<void> {
    if (this.#closed) throw new Error('the webhook sender is closed');
    const queue = this.queue;
    const keepSeconds = this.#host.config.resultTtl;
    await onBackend(async (late) => {
      await queue.waitUntilReady();
      await this.#tracker.opened(data.owner, id, target);
      if (late.aborted) return;
      await queue.add('deliver', data, {
        jobId: id,
        attempts: data.schedule.attempts,
        backoff: { type: WEBHOOK_BACKOFF },
        removeOnComplete: { age: keepSeconds },
        removeOnFail: { age: keepSeconds },
      });
    });
  }

  /** The `webhooks` BullMQ queue (opened on first use, on the fail-fast connection). */
  get queue(): Queue<DeliveryData> {
    this.#queue ??= new Queue<DeliveryData>(WEBHOOK_QUEUE, { connection: this.#host.redis, prefix: this.#host.keys.prefix });
    return this.#queue;
  }

  /** One subscriber per process, opened on the first wait, hands announced attempts to their waiters. */
  #subscribe(): Promise<RedisClient> {
    this.#subscriber ??= (async () => {
      const subscriber = this.#host.connection('blocking');
      subscriber.on('message', (_channel: string, message: string) => {
        let record: AttemptRecord;
        try {
          record = JSON.parse(message) as AttemptRecord;
        } catch {
          return; // not ours: the channel is the app's, but nothing else should publish on it
        }
        for (const waiter of [...(this.#waiters.get(record.id) ?? [])]) waiter(record);
      });
      await subscriber.subscribe(this.#host.keys.webhookAttempted);
      return subscriber;
    })();
    return this.#subscriber;
  }

  #firstAttempt(id: string, timeoutMs: number): { promise: Promise<AttemptRecord | undefined>; cancel: () => void } {
    let finish!: (record: AttemptRecord | undefined) => void;
    const promise = new Promise<AttemptRecord | undefined>((resolve) => {
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      const waiters = this.#waiters.get(id) ?? new Set();
      this.#waiters.set(id, waiters);
      finish = (record) => {
        clearTimeout(timer);
        waiters.delete(finish);
        if (waiters.size === 0) this.#waiters.delete(id);
        resolve(record);
      };
      waiters.add(finish);
    });
    return { promise, cancel: () => finish(undefined) };
  }

  /** Closes the queue and the subscriber. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiters of this.#waiters.values()) for (const finish of [...waiters]) finish(undefined);
    await this.#queue?.close().catch((error: unknown) => this.#host.logger.error({ err: error }, 'closing the webhook queue failed'));
    if (this.#subscriber) await closeRedis(await this.#subscriber);
  }
}

/** The exact body every attempt sends and signs. */
function serialize(json: unknown): string {
  const body = JSON.stringify(json);
  if (body === undefined) throw new TypeError('a webhook payload must be JSON-serializable, got undefined or a function');
  return body;
}

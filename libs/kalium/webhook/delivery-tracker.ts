import type { RedisClient } from '../redis/connection.ts';
import type { AppKeys } from '../redis/keys.ts';

export type DeliveryState = 'pending' | 'delivered' | 'failed';

/** Whose deliveries a tracker hash holds: one `sendWebhook` delivery, or every delivery of one job. */
export type DeliveryOwner = { job: string } | { delivery: string };

/** Where a delivery (or all of a job's deliveries) stands. */
export interface DeliveryStatus {
  /** `pending` while any delivery is waiting or retrying (or none was made yet), `failed` if one gave up. */
  state: DeliveryState;
  /** Attempts made in all. */
  attempts: number;
  /** HTTP status of the latest attempt; null before the first or when it got no answer. */
  lastStatus: number | null;
  /** Why the latest failed attempt failed. */
  lastError: string | null;
  /** What `describe` stored: where the deliveries go (for a job, its URL and events). */
  target: unknown;
}

/** One attempt's outcome, as announced on the `webhookAttempted` channel. */
export interface AttemptRecord {
  id: string;
  /** Which attempt of the delivery this was, 1 for the first. */
  attempt: number;
  /** The delivery's state after it: `pending` means a retry is scheduled. */
  state: DeliveryState;
  status: number | null;
  error: string | null;
}

interface DeliveryEntry {
  state: DeliveryState;
  attempts: number;
}

const DELIVERY_FIELD = 'd:';

/**
 * Delivery state in Redis, kept apart from BullMQ's jobs so that `GET /jobs/:id` reads one hash: the
 * totals (`attempts`, `last_status`, `last_error`) and one `d:<delivery id>` field per delivery. Every
 * write refreshes the hash's TTL, so it outlives the last attempt by `ttlSeconds`.
 */
export class DeliveryTracker {
  readonly #redis: RedisClient;
  readonly #keys: AppKeys;
  readonly #ttlSeconds: number;

  constructor(redis: RedisClient, keys: AppKeys, ttlSeconds: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#ttlSeconds = ttlSeconds;
  }

  key(owner: DeliveryOwner): string {
    return 'job' in owner ? this.#keys.jobWebhook(owner.job) : this.#keys.webhookDelivery(owner.delivery);
  }

  /** Marks a delivery pending (and stores `target`, if given). Idempotent: a delivery enqueued twice keeps its state. */
  async opened(owner: DeliveryOwner, id: string, target?: unknown): Promise<void> {
    const key = this.key(owner);
    const entry: DeliveryEntry = { state: 'pending', attempts: 0 };
    const multi = this.#redis.multi().hsetnx(key, DELIVERY_FIELD + id, JSON.stringify(entry));
    if (target !== undefined) multi.hset(key, 'target', JSON.stringify(target));
    await multi.expire(key, this.#ttlSeconds).exec();
  }

  /** Stores where the owner's deliveries go, so that its state can be shown before any is made. */
  async describe(owner: DeliveryOwner, target: unknown): Promise<void> {
    const key = this.key(owner);
    await this.#redis.multi().hset(key, 'target', JSON.stringify(target)).expire(key, this.#ttlSeconds).exec();
  }

  /** Records one attempt and announces it to anyone waiting on the delivery. */
  async attempted(owner: DeliveryOwner, record: AttemptRecord): Promise<void> {
    const key = this.key(owner);
    const entry: DeliveryEntry = { state: record.state, attempts: record.attempt };
    await this.#redis
      .multi()
      .hincrby(key, 'attempts', 1)
      .hset(key, {
        last_status: record.status === null ? '' : String(record.status),
        last_error: record.error ?? '',
        [DELIVERY_FIELD + record.id]: JSON.stringify(entry),
      })
      .expire(key, this.#ttlSeconds)
      .publish(this.#keys.webhookAttempted, JSON.stringify(record))
      .exec();
  }

  /** The combined state of the owner's deliveries; undefined when nothing was recorded (or it expired). */
  async status(owner: DeliveryOwner): Promise<DeliveryStatus | undefined> {
    const hash = await this.#redis.hgetall(this.key(owner));
    if (Object.keys(hash).length === 0) return undefined;
    const entries = Object.entries(hash)
      .filter(([field]) => field.startsWith(DELIVERY_FIELD))
      .map(([, value]) => JSON.parse(value) as DeliveryEntry);
    return {
      state: combinedState(entries),
      attempts: Number(hash.attempts ?? 0),
      lastStatus: hash.last_status ? Number(hash.last_status) : null,
      lastError: hash.last_error || null,
      target: hash.target ? (JSON.parse(hash.target) as unknown) : null,
    };
  }

  /** How many attempts one delivery has had (0 when none or unknown). */
  async attemptsOf(owner: DeliveryOwner, id: string): Promise<{ state: DeliveryState; attempts: number } | undefined> {
    const value = await this.#redis.hget(this.key(owner), DELIVERY_FIELD + id);
    return value ? (JSON.parse(value) as DeliveryEntry) : undefined;
  }
}

function combinedState(entries: DeliveryEntry[]): DeliveryState {
  if (entries.length === 0 || entries.some((entry) => entry.state === 'pending')) return 'pending';
  return entries.some((entry) => entry.state === 'failed') ? 'failed' : 'delivered';
}

import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connection.ts';
import type { Logger } from '../log/logger.ts';
import { readLua } from '../redis/lua.ts';

const RENEW = readLua(import.meta.url, './renew.lua');
const RELEASE = readLua(import.meta.url, './release.lua');

/** How often a waiter re-tries even without a release notice (a crashed holder's lease just expires). */
const POLL_MS = 50;

export interface GpuLeaseOptions {
  /** A command connection (fails fast while Redis is down). */
  redis: RedisClient;
  /** Opens the connection that listens for releases; called once, on the first wait. */
  subscriber: () => RedisClient;
  /** The device's lease key. */
  key: string;
  /** The channel release.lua publishes on. */
  releasedChannel: string;
  /** Lease TTL; the holder renews it every third of this. */
  ttlMs: number;
  logger: Logger;
}

type LeaseRedis = RedisClient & {
  kaliumLeaseRenew(key: string, token: string, ttlMs: number): Promise<number>;
  kaliumLeaseRelease(key: string, channel: string, token: string): Promise<number>;
};

/**
 * The GPU lease of one device (SPEC §6): a Redis key holding the holder's random token, with a TTL
 * the holder renews while it runs, released by compare-and-delete. A crashed holder frees the device
 * within the TTL, and no one can free another's lease.
 */
export class GpuLease {
  readonly #options: GpuLeaseOptions;
  readonly #redis: LeaseRedis;
  #subscriber: RedisClient | undefined;
  readonly #waiters = new Set<() => void>();

  constructor(options: GpuLeaseOptions) {
    this.#options = options;
    const redis = options.redis;
    if (!('kaliumLeaseRenew' in redis)) {
      redis.defineCommand('kaliumLeaseRenew', { numberOfKeys: 1, lua: RENEW });
      redis.defineCommand('kaliumLeaseRelease', { numberOfKeys: 2, lua: RELEASE });
    }
    this.#redis = redis as LeaseRedis;
  }

  /** Takes the lease if it is free right now; undefined when someone holds it. */
  async tryAcquire(): Promise<LeaseHold | undefined> {
    const token = randomBytes(16).toString('hex');
    const ok = await this.#redis.set(this.#options.key, token, 'PX', this.#options.ttlMs, 'NX');
    return ok === 'OK' ? new LeaseHold(this.#redis, this.#options, token) : undefined;
  }

  /**
   * Takes the lease, waiting up to `maxWaitMs` (Infinity: until it is had or `signal` aborts).
   * Waiters wake on a release notice, or every 50 ms to cover a holder whose lease simply expired.
   */
  async acquire(maxWaitMs: number, signal?: AbortSignal): Promise<LeaseHold | undefined> {
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const hold = await this.tryAcquire();
      if (hold) return hold;
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return undefined;
      await this.#waitForRelease(Math.min(left, POLL_MS), signal);
    }
  }

  /** Whether anyone holds the lease now. */
  async isHeld(): Promise<boolean> {
    return (await this.#redis.exists(this.#options.key)) === 1;
  }

  async #waitForRelease(ms: number, signal?: AbortSignal): Promise<void> {
    this.#listen();
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  #listen(): void {
    if (this.#subscriber) return;
    this.#subscriber = this.#options.subscriber();
    this.#subscriber.on('message', () => {
      for (const wake of [...this.#waiters]) wake();
    });
    this.#subscriber.subscribe(this.#options.releasedChannel).catch((error: unknown) => {
      this.#options.logger.warn({ err: error }, 'could not subscribe to GPU lease releases; polling instead');
    });
  }

  /** Stops listening for releases; wakes any waiter so it can give up. Idempotent. */
  close(): void {
    for (const wake of [...this.#waiters]) wake();
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
  }
}

/** A held lease: renewed in the background until released. */
export class LeaseHold {
  readonly token: string;
  readonly #redis: LeaseRedis;
  readonly #options: GpuLeaseOptions;
  readonly #timer: NodeJS.Timeout;
  #released = false;

  constructor(redis: LeaseRedis, options: GpuLeaseOptions, token: string) {
    this.#redis = redis;
    this.#options = options;
    this.token = token;
    this.#timer = setInterval(() => void this.#renew(), Math.max(100, Math.floor(options.ttlMs / 3)));
    this.#timer.unref();
  }

  async #renew(): Promise<void> {
    try {
      const renewed = await this.#redis.kaliumLeaseRenew(this.#options.key, this.token, this.#options.ttlMs);
      if (renewed !== 1 && !this.#released) {
        clearInterval(this.#timer);
        this.#options.logger.error({ key: this.#options.key }, 'GPU lease lost while held (it expired before renewal)');
      }
    } catch (error) {
      this.#options.logger.warn({ err: error, key: this.#options.key }, 'GPU lease renewal failed; will retry');
    }
  }

  /** Releases the lease if this holder still has it. Idempotent; never throws (an unreleased lease expires). */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    try {
      await this.#redis.kaliumLeaseRelease(this.#options.key, this.#options.releasedChannel, this.token);
    } catch (error) {
      this.#options.logger.warn({ err: error, key: this.#options.key }, 'GPU lease release failed; it will expire');
    }
  }
}

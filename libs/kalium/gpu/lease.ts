import type { RedisClient } from '../redis/connection.ts';
import type { Logger } from '../log/logger.ts';
import { TokenLock, type TokenKeeper } from '../lock/token-lock.ts';

/** How often a waiter re-tries even without a release notice (a crashed holder's lease just expires). */
const POLL_MS = 50;

export interface GpuLeaseOptions {
  /** A command connection (fails fast while Redis is down). */
  redis: RedisClient;
  /** Opens the connection that listens for releases; called once, on the first wait. */
  subscriber: () => RedisClient;
  /** The device's lease key. */
  key: string;
  /** The channel a release is published on (token-release.lua). */
  releasedChannel: string;
  /** Lease TTL; the holder renews it every third of this. */
  ttlMs: number;
  /**
   * What keeps a held lease alive: the process's lock keeper thread, so that a handler blocking the
   * event loop (synchronous model code, in the api or the worker) keeps the device.
   */
  keeper: TokenKeeper;
  logger: Logger;
}


/**
 * The GPU lease of one device (SPEC §6): a Redis key holding the holder's random token, with a TTL
 * the holder renews while it runs, released by compare-and-delete. A crashed holder frees the device
 * within the TTL, and no one can free another's lease.
 */
export class GpuLease {
  readonly #options: GpuLeaseOptions;
  readonly #lock: TokenLock;
  #subscriber: RedisClient | undefined;
  readonly #waiters = new Set<() => void>();

  constructor(options: GpuLeaseOptions) {
    this.#options = options;
    this.#lock = new TokenLock(options.redis, options.keeper);
  }

  /** Takes the lease if it is free right now; undefined when someone holds it. */
  async tryAcquire(): Promise<LeaseHold | undefined> {
    const token = await this.#lock.take(this.#options.key, this.#options.ttlMs);
    return token === undefined ? undefined : new LeaseHold(this.#lock, this.#options, token);
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
    return (await this.#options.redis.exists(this.#options.key)) === 1;
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

/** A held lease: kept alive by the keeper until released. */
export class LeaseHold {
  readonly token: string;
  readonly #lock: TokenLock;
  readonly #options: GpuLeaseOptions;
  readonly #stopKeeping: () => void;
  #released = false;

  constructor(lock: TokenLock, options: GpuLeaseOptions, token: string) {
    this.#lock = lock;
    this.#options = options;
    this.token = token;
    this.#stopKeeping = lock.keep(`GPU lease ${options.key}`, options.key, token, options.ttlMs);
  }

  /** Releases the lease if this holder still has it. Idempotent; never throws (an unreleased lease expires). */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#stopKeeping();
    try {
      await this.#lock.release(this.#options.key, this.token, this.#options.releasedChannel, '1');
    } catch (error) {
      this.#options.logger.warn({ err: error, key: this.#options.key }, 'GPU lease release failed; it will expire');
    }
  }
}

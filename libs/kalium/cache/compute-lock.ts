import { randomUUID } from 'node:crypto';
import { writeCoalescer } from '../redis/write-coalescing.ts';
import type { CacheRedis } from './cache-commands.ts';

/**
 * The per-key lock under which one caller across the fleet computes a missing entry: a Redis key
 * holding the computer's random token, with a TTL the computer renews while it computes. A crashed
 * computer's lock frees within the TTL; release and renewal compare the token, so no one frees or
 * extends another's lock.
 */
export class ComputeLock {
  readonly #redis: CacheRedis;
  readonly #ttlMs: number;
  readonly #coalesce: () => void;

  constructor(redis: CacheRedis, ttlMs: number) {
    this.#redis = redis;
    this.#ttlMs = ttlMs;
    this.#coalesce = writeCoalescer(redis);
  }

  /** Takes the lock if it is free; the token to release it with, or undefined when another holds it. */
  async tryTake(lockKey: string): Promise<string | undefined> {
    const token = randomUUID();
    const ok = await this.#redis.set(lockKey, token, 'PX', this.#ttlMs, 'NX');
    return ok === 'OK' ? token : undefined;
  }

  /**
   * Reads the entry and, when it is missing, takes the lock, atomically: the entry (with its time
   * left), or the token when the caller took the lock, or neither when another holds it.
   */
  async readOrTake(valueKey: string, lockKey: string): Promise<{ value?: Buffer; ttlMs?: number; token?: string }> {
    const token = randomUUID();
    this.#coalesce(); // the hit path: share the turn's socket write with other requests' lookups
    const [value, pttl, taken] = await this.#redis.kaliumCacheTakeBuffer(valueKey, lockKey, token, this.#ttlMs);
    if (value !== null) return { value, ttlMs: Math.max(0, pttl) };
    return taken === 1 ? { token } : {};
  }

  /** Renews the lock every third of its TTL until the returned function is called. */
  keepAlive(lockKey: string, token: string): () => void {
    const timer = setInterval(() => {
      this.#redis.kaliumCacheRenew(lockKey, token, this.#ttlMs).then(
        (renewed) => {
          // Lapsed (the event loop was blocked past the TTL) and maybe taken by another: stop touching it.
          if (renewed !== 1) clearInterval(timer);
        },
        // A failed renewal is retried on the next tick; if Redis stays away the lock lapses, and the
        // worst outcome is that a second replica computes the same entry.
        () => {},
      );
    }, Math.max(30, Math.floor(this.#ttlMs / 3)));
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Releases the lock if `token` still holds it, announcing it on `channel`. True when released. */
  async release(lockKey: string, channel: string, token: string, valueKey: string): Promise<boolean> {
    return (await this.#redis.kaliumCacheRelease(lockKey, channel, token, valueKey)) === 1;
  }
}

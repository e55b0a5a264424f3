import { randomUUID } from 'node:crypto';
import { TokenLock, type TokenKeeper } from '../lock/token-lock.ts';
import { writeCoalescer } from '../redis/write-coalescing.ts';
import type { CacheRedis } from './cache-commands.ts';

/**
 * The per-key lock under which one caller across the fleet computes a missing entry: kalium's token
 * lock (see token-lock.ts), taken together with the cache read on a miss, kept alive by the process's
 * keeper while the computation runs.
 */
export class ComputeLock {
  readonly #redis: CacheRedis;
  readonly #lock: TokenLock;
  readonly #ttlMs: number;
  readonly #coalesce: () => void;

  constructor(redis: CacheRedis, ttlMs: number, keeper: TokenKeeper) {
    this.#redis = redis;
    this.#lock = new TokenLock(redis, keeper);
    this.#ttlMs = ttlMs;
    this.#coalesce = writeCoalescer(redis);
  }

  /** Takes the lock if it is free; the token to release it with, or undefined when another holds it. */
  tryTake(lockKey: string): Promise<string | undefined> {
    return this.#lock.take(lockKey, this.#ttlMs, randomUUID());
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

  /** Keeps the lock alive while its holder computes, until the returned function is called. */
  keepAlive(lockKey: string, token: string): () => void {
    return this.#lock.keep(`cache compute lock ${lockKey}`, lockKey, token, this.#ttlMs);
  }

  /** Releases the lock if `token` still holds it, announcing it on `channel`. True when released. */
  release(lockKey: string, channel: string, token: string, valueKey: string): Promise<boolean> {
    return this.#lock.release(lockKey, token, channel, valueKey);
  }
}

import { createRedis, closeRedis, whenReady, type RedisClient } from '../redis/connection.ts';
import { DEFAULT_REDIS_URL } from '../config/config.ts';
import { errors } from '../errors/kalium-error.ts';
import { writeCoalescer } from '../redis/write-coalescing.ts';
import { LocalBackend } from './local-backend.ts';
import type { StoreBackend } from './store-backend.ts';

export type StoreOptions =
  | { backend: 'local' }
  | {
      backend: 'redis';
      /** @defaultValue 'redis://127.0.0.1:6379' */
      url?: string;
      /** Prepended to every key. @defaultValue 'kalium:store:' */
      prefix?: string;
    };

/** @defaultValue seconds a value lives when `set` is given no ttl */
export const DEFAULT_STORE_TTL = 600;

/**
 * A key-value store of JSON values with a time-to-live (potassium's `Store`). The redis backend is
 * shared by every process on the same Redis; the local one lives in this process only.
 */
export class Store {
  readonly #backend: StoreBackend;

  constructor(options: StoreOptions | StoreBackend) {
    if ('get' in options) {
      this.#backend = options;
    } else if (options.backend === 'local') {
      this.#backend = new LocalBackend();
    } else if (options.backend === 'redis') {
      this.#backend = new RedisBackend({ url: options.url ?? DEFAULT_REDIS_URL, prefix: options.prefix ?? 'kalium:store:' });
    } else {
      throw new TypeError(`Store backend must be 'redis' or 'local', got ${JSON.stringify((options as { backend: unknown }).backend)}`);
    }
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const raw = await reach(this.#backend.get(checkKey(key)));
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  /** Stores a JSON-serialisable value; `ttl` in seconds. */
  async set(key: string, value: unknown, options: { ttl?: number } = {}): Promise<void> {
    const ttl = options.ttl ?? DEFAULT_STORE_TTL;
    if (!Number.isInteger(ttl) || ttl < 1) throw new TypeError(`Store ttl must be a whole number of seconds >= 1, got ${String(ttl)}`);
    if (value === undefined) throw new TypeError('Store values must be JSON; undefined is not');
    await reach(this.#backend.set(checkKey(key), JSON.stringify(value), ttl));
  }

  async delete(key: string): Promise<void> {
    await reach(this.#backend.delete(checkKey(key)));
  }

  async close(): Promise<void> {
    await this.#backend.close();
  }
}

/**
 * A backend that cannot be reached (Redis down, or hung past the connection's deadline) is 503
 * `backend_unavailable` with `Retry-After`, as on every other path: a handler that lets it through
 * tells its caller to retry, rather than answering 500 as if the handler were broken.
 */
async function reach<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw errors.backendUnavailable(error);
  }
}

function checkKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024) {
    throw new TypeError('Store keys must be non-empty strings of at most 1024 characters');
  }
  return key;
}

/** Values in Redis under `prefix + key`, with `SET … EX`. Connects on first use when given a URL. */
export class RedisBackend implements StoreBackend {
  readonly #prefix: string;
  #redis: RedisClient | undefined;
  readonly #url: string | undefined;
  readonly #owned: boolean;

  constructor(options: { url: string; prefix: string } | { redis: RedisClient; prefix: string }) {
    this.#prefix = options.prefix;
    if ('redis' in options) {
      this.#redis = options.redis;
      this.#owned = false;
    } else {
      this.#url = options.url;
      this.#owned = true;
    }
  }

  /**
   * The connection, ready (or given up on: see whenReady), with this turn's writes coalesced: under load,
   * the reads of concurrent requests leave in one write.
   */
  async #client(): Promise<RedisClient> {
    this.#redis ??= createRedis(this.#url!, 'command');
    if (this.#redis.status !== 'ready') await whenReady(this.#redis);
    writeCoalescer(this.#redis)();
    return this.#redis;
  }

  async get(key: string): Promise<string | undefined> {
    return (await (await this.#client()).get(this.#prefix + key)) ?? undefined;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await (await this.#client()).set(this.#prefix + key, value, 'EX', ttlSeconds);
  }

  async delete(key: string): Promise<void> {
    await (await this.#client()).del(this.#prefix + key);
  }

  async close(): Promise<void> {
    if (this.#owned && this.#redis) await closeRedis(this.#redis);
  }
}

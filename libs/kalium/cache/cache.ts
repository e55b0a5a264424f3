import type { Redis } from 'ioredis';
import { DEFAULT_REDIS_URL } from '../config/config.ts';
import { closeRedis, createRedis } from '../redis/connection.ts';
import { cacheKeys } from '../redis/keys.ts';
import { CacheEngine, type CacheErrorContext } from './cache-engine.ts';

export type { CacheErrorContext };

export interface CacheOptions {
  /** @defaultValue 'redis://127.0.0.1:6379' */
  url?: string;
  /** Prepended to every key (and to the channel fills are announced on). @defaultValue 'kalium:cache:' */
  prefix?: string;
  /**
   * TTL of the lock under which a missing entry is computed; renewed every third of it while the
   * computation runs, so a crashed computer's lock frees within it. @defaultValue 5000
   */
  lockTtlMs?: number;
  /** How often a waiter re-reads even without a notice (notices can be lost on a reconnect). @defaultValue 100 */
  pollMs?: number;
  /**
   * Gets every Redis error met by `wrap`. If it throws, `wrap` rejects with what it threw; if it
   * returns, `wrap` degrades: it computes without the cache, or returns what it computed when only
   * storing failed. @defaultValue rethrows the error
   */
  onError?: (error: unknown, context: CacheErrorContext) => void;
}

export interface CacheWrapOptions {
  /** Seconds the value stays cached. */
  ttl: number;
  /** How long to wait for another caller computing the same key before computing anyway. @defaultValue 10000 */
  lockTimeoutMs?: number;
  /** A hit with less than this many ms left starts one background recompute across the fleet. @defaultValue off */
  refreshAheadMs?: number;
}

/** @defaultValue ms a caller waits for another's computation, for `wrap` and for routes' `cache`. */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
const DEFAULTS = { url: DEFAULT_REDIS_URL, prefix: 'kalium:cache:', lockTtlMs: 5000, pollMs: 100 };

/**
 * A stampede-proof cache of JSON values in Redis, shared by every process on the same Redis
 * (SPEC §7). `wrap` computes a missing value once across the fleet while the other callers wait for
 * it. Inside a kalium app use `app.cache` (on the app's Redis, under the app's prefix, errors logged);
 * elsewhere `new Cache({ url })`, and `close()` it when done.
 *
 * @example
 * const summary = await app.cache.wrap(`summary:${id}`, () => summarise(text), { ttl: 3600 });
 */
export class Cache {
  readonly #engine: CacheEngine;
  readonly #connections: Redis[] = [];
  /** Settles once the connection a standalone Cache opened first comes up (or fails to, within 2 s). */
  readonly #connected: Promise<void> = Promise.resolve();

  constructor(options: CacheOptions | CacheEngine = {}) {
    if (options instanceof CacheEngine) {
      this.#engine = options;
      return;
    }
    const settings = { ...DEFAULTS, ...definedOnly(options) };
    checkInteger('lockTtlMs', settings.lockTtlMs, 100);
    checkInteger('pollMs', settings.pollMs, 1);
    if (typeof settings.prefix !== 'string') throw new TypeError(`Cache prefix must be a string, got ${JSON.stringify(settings.prefix)}`);
    const open = (role: 'command' | 'blocking') => {
      const redis = createRedis(settings.url, role);
      this.#connections.push(redis);
      return redis;
    };
    const redis = open('command');
    this.#connected = firstConnect(redis);
    this.#engine = new CacheEngine({
      redis,
      subscriber: () => open('blocking'),
      keys: cacheKeys(settings.prefix),
      lockTtlMs: settings.lockTtlMs,
      pollMs: settings.pollMs,
      onError:
        options.onError ??
        ((error) => {
          throw error;
        }),
    });
  }

  /** The value under `key`, or undefined when missing or expired. Rejects when Redis fails. */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    checkKey(key);
    await this.#connected;
    const entry = await this.#engine.read(key);
    return entry === undefined ? undefined : decode<T>(entry.value);
  }

  /** Stores a JSON value for `ttl` seconds, waking anyone waiting for it. Rejects when Redis fails. */
  async set(key: string, value: unknown, options: { ttl: number }): Promise<void> {
    const encoded = encode(value);
    const ms = ttlMs(options?.ttl);
    checkKey(key);
    await this.#connected;
    await this.#engine.write(key, encoded, ms);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.#connected;
    await this.#engine.delete(key);
  }

  /**
   * The cached value under `key`, or `fn()`'s, computed by one caller at a time across every process
   * and stored for `ttl` seconds. Callers arriving meanwhile wait for that value (up to `lockTimeoutMs`,
   * then compute themselves). `undefined` is returned but not stored; a throwing `fn` stores nothing, and
   * the next waiter takes its turn. Values come back as JSON would give them, cached or not.
   */
  async wrap<T>(key: string, fn: () => T | Promise<T>, options: CacheWrapOptions): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('cache.wrap takes a function that computes the value');
    if (typeof options !== 'object' || options === null) throw new TypeError('cache.wrap takes options with a ttl in seconds');
    const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    checkInteger('lockTimeoutMs', lockTimeoutMs, 0);
    if (options.refreshAheadMs !== undefined) checkInteger('refreshAheadMs', options.refreshAheadMs, 0);
    const ms = ttlMs(options.ttl);
    checkKey(key);
    await this.#connected;
    const fetched = await this.#engine.fetch(
      key,
      async () => {
        const result = await fn();
        return { result, value: result === undefined ? undefined : encode(result) };
      },
      { ttlMs: ms, lockTimeoutMs, refreshAheadMs: options.refreshAheadMs },
    );
    if (fetched.source !== 'computed') return decode<T>(fetched.entry.value);
    return fetched.value === undefined ? fetched.result : decode<T>(fetched.value);
  }

  /** Wakes any waiter and closes the connections this Cache opened (none for `app.cache`). Idempotent. */
  async close(): Promise<void> {
    this.#engine.close();
    await Promise.all(this.#connections.map((redis) => closeRedis(redis)));
  }
}

/**
 * Command connections fail fast while Redis is away (so callers never hang); a Cache used right after
 * it is built waits for its first connection instead of failing on it.
 */
function firstConnect(redis: Redis): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, 2000);
    redis.once('ready', done);
  });
}

function encode(value: unknown): Buffer {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`Cache values must be JSON; ${typeof value} is not`);
  return Buffer.from(json);
}

function decode<T>(value: Buffer): T {
  return JSON.parse(value.toString('utf8')) as T;
}

function ttlMs(ttl: unknown): number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1) {
    throw new TypeError(`Cache ttl must be a whole number of seconds >= 1, got ${JSON.stringify(ttl)}`);
  }
  return ttl * 1000;
}

function checkKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024) {
    throw new TypeError(`Cache keys must be non-empty strings of at most 1024 characters, got ${JSON.stringify(key)}`);
  }
  return key;
}

function checkInteger(name: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TypeError(`Cache ${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

import type { RedisClient } from '../redis/connection.ts';
import type { CacheKeys } from '../redis/keys.ts';
import { withCacheCommands, type CacheRedis } from './cache-commands.ts';
import { timerKeeper, type TokenKeeper } from '../lock/token-lock.ts';
import { ComputeLock } from './compute-lock.ts';
import { FillListener } from './fill-listener.ts';

/**
 * What happened to one cache call, for metrics. A foreground call records exactly one of `hit` (read
 * it), `wait` (got it from another's computation) or `miss` (computed it), plus `lock_timeout` when it
 * gave up waiting; `refresh` marks a refresh-ahead, `error` each Redis failure.
 */
export type CacheEvent = 'hit' | 'miss' | 'wait' | 'lock_timeout' | 'refresh' | 'error';

export interface CacheEntry {
  value: Buffer;
  /** Time the entry has left, in ms. */
  ttlMs: number;
}

export interface CacheErrorContext {
  /** The entry's key within its namespace. */
  key: string;
  /** What failed: reading or locking, storing the value, releasing the lock, or a refresh-ahead. */
  during: 'lookup' | 'store' | 'release' | 'refresh';
}

export interface CacheEngineOptions {
  /** A command connection (fails fast while Redis is down). */
  redis: RedisClient;
  /** Opens the connection that listens for fills; called once, on the first wait. */
  subscriber: () => RedisClient | Promise<RedisClient>;
  keys: CacheKeys;
  /** TTL of a compute lock; renewed every third of it while computing. */
  lockTtlMs: number;
  /** What keeps compute locks alive: the process's lock keeper thread (default: a timer on this thread). */
  keeper?: TokenKeeper;
  /** How often a waiter re-reads even without a notice. */
  pollMs: number;
  /** Gets every Redis error of a call; if it throws, the call fails with that, else the call degrades. */
  onError: (error: unknown, context: CacheErrorContext) => void;
}

export interface FetchOptions {
  ttlMs: number;
  /** How long to wait for another's computation before computing anyway. */
  lockTimeoutMs: number;
  /** A hit with less than this left starts one background recompute across the fleet. */
  refreshAheadMs?: number;
  /** Compute afresh without reading, and without waiting for others; the result is still stored. */
  skipRead?: boolean;
  onEvent?: (event: CacheEvent) => void;
}

/** `request`: for the caller who waits on it; `refresh`: a background refresh-ahead nobody waits on. */
export type ComputeMode = 'request' | 'refresh';

/** What a computation gives: its result, and the bytes to store (none: the result is not storable). */
export interface Computed<T> {
  result: T;
  value?: Buffer;
}

export type Fetched<T> =
  | { source: 'hit' | 'wait'; entry: CacheEntry }
  | { source: 'computed'; result: T; value: Buffer | undefined };

type Claim = { entry: CacheEntry; waited: boolean } | { token: string | undefined; timedOut: boolean };

const noop = () => {};

/**
 * The single-flight cache over one key namespace (SPEC §7). On a miss one caller across every process
 * takes the key's token lock and computes; the others subscribe to the namespace's channel *before*
 * re-reading the key, then wait for a notice (or poll) until the value is there, the lock is free (their
 * turn), or `lockTimeoutMs` passes (they compute anyway). The value is stored, the lock released and
 * the waiters told in one script, awaited.
 */
export class CacheEngine {
  readonly #redis: CacheRedis;
  readonly #keys: CacheKeys;
  readonly #lock: ComputeLock;
  readonly #listener: FillListener;
  readonly #pollMs: number;
  readonly #onError: CacheEngineOptions['onError'];
  /** Keys this process is refreshing ahead, so hits during a refresh do not each try the lock. */
  readonly #refreshing = new Set<string>();

  constructor(options: CacheEngineOptions) {
    this.#redis = withCacheCommands(options.redis);
    this.#keys = options.keys;
    this.#lock = new ComputeLock(this.#redis, options.lockTtlMs, options.keeper ?? timerKeeper(options.redis));
    this.#listener = new FillListener(options.subscriber, options.keys.filled);
    this.#pollMs = options.pollMs;
    this.#onError = options.onError;
  }

  /** The entry under `key`, or undefined. Rejects when Redis fails. */
  async read(key: string): Promise<CacheEntry | undefined> {
    return (await this.#state(key)).entry;
  }

  /** Stores a value and wakes anyone waiting for it. Rejects when Redis fails. */
  async write(key: string, value: Buffer, ttlMs: number): Promise<void> {
    await this.#redis.kaliumCacheFill(this.#keys.value(key), this.#keys.lock(key), this.#keys.filled, value, ttlMs, '');
  }

  async delete(key: string): Promise<void> {
    await this.#redis.del(this.#keys.value(key));
  }

  /** The entry under `key`, computing it at most once at a time across the fleet when it is missing. */
  async fetch<T>(key: string, compute: (mode: ComputeMode) => Promise<Computed<T>>, options: FetchOptions): Promise<Fetched<T>> {
    const emit = options.onEvent ?? noop;
    let claim: Claim;
    try {
      claim = await this.#claim(key, options);
    } catch (error) {
      this.#report(error, { key, during: 'lookup' }, emit, true);
      emit('miss');
      const { result, value } = await compute('request');
      return { source: 'computed', result, value };
    }
    if ('entry' in claim) {
      emit(claim.waited ? 'wait' : 'hit');
      if (!claim.waited) this.#refreshAhead(key, claim.entry, compute, options);
      return { source: claim.waited ? 'wait' : 'hit', entry: claim.entry };
    }
    if (claim.timedOut) emit('lock_timeout');
    emit('miss');
    return this.#computeAndStore(key, compute, 'request', claim.token, options);
  }

  /**
   * Reads the entry or takes its lock (one atomic step, so no one stores it between the two); when
   * another holds the lock, waits for its value, its release (then tries again), or the deadline.
   */
  async #claim(key: string, options: FetchOptions): Promise<Claim> {
    const lockKey = this.#keys.lock(key);
    if (options.skipRead) return { token: await this.#lock.tryTake(lockKey), timedOut: false };
    const valueKey = this.#keys.value(key);
    const deadline = Date.now() + options.lockTimeoutMs;
    for (let waited = false; ; waited = true) {
      const taken = await this.#lock.readOrTake(valueKey, lockKey);
      if (taken.value) return { entry: { value: taken.value, ttlMs: taken.ttlMs ?? 0 }, waited };
      if (taken.token) return { token: taken.token, timedOut: false };
      const outcome = await this.#waitForFill(key, deadline);
      if (outcome === 'timeout') return { token: undefined, timedOut: true };
      if (outcome !== 'free') return { entry: outcome, waited: true };
    }
  }

  /**
   * Subscribes first, then re-reads: a value stored (and announced) after our last read but before
   * the subscription is found by the re-read, and one stored after it is announced to us.
   */
  async #waitForFill(key: string, deadline: number): Promise<CacheEntry | 'free' | 'timeout'> {
    const watch = this.#listener.watch(this.#keys.value(key));
    try {
      await this.#listener.subscribed(this.#pollMs);
      for (;;) {
        const state = await this.#state(key);
        if (state.entry) return state.entry;
        if (!state.locked) return 'free';
        const left = deadline - Date.now();
        if (left <= 0) return 'timeout';
        await watch.next(Math.min(left, this.#pollMs));
      }
    } finally {
      watch.close();
    }
  }

  async #computeAndStore<T>(
    key: string,
    compute: (mode: ComputeMode) => Promise<Computed<T>>,
    mode: ComputeMode,
    token: string | undefined,
    options: FetchOptions,
  ): Promise<Fetched<T>> {
    const emit = options.onEvent ?? noop;
    const lockKey = this.#keys.lock(key);
    const stopRenewing = token ? this.#lock.keepAlive(lockKey, token) : noop;
    let computed: Computed<T>;
    try {
      computed = await compute(mode);
    } catch (error) {
      stopRenewing();
      // The computation's own error is what the caller gets; a failed release is only reported.
      if (token) await this.#release(key, token, emit, false);
      throw error;
    }
    stopRenewing();
    if (computed.value === undefined) {
      if (token) await this.#release(key, token, emit, mode === 'request');
    } else {
      try {
        await this.#redis.kaliumCacheFill(this.#keys.value(key), lockKey, this.#keys.filled, computed.value, options.ttlMs, token ?? '');
      } catch (error) {
        // Free the lock if Redis still takes commands, so waiters take their turn instead of waiting out its TTL.
        if (token) await this.#release(key, token, emit, false);
        this.#report(error, { key, during: 'store' }, emit, mode === 'request');
      }
    }
    return { source: 'computed', result: computed.result, value: computed.value };
  }

  async #release(key: string, token: string, emit: (event: CacheEvent) => void, rethrow: boolean): Promise<void> {
    try {
      await this.#lock.release(this.#keys.lock(key), this.#keys.filled, token, this.#keys.value(key));
    } catch (error) {
      this.#report(error, { key, during: 'release' }, emit, rethrow);
    }
  }

  #refreshAhead<T>(
    key: string,
    entry: CacheEntry,
    compute: (mode: ComputeMode) => Promise<Computed<T>>,
    options: FetchOptions,
  ): void {
    const ahead = options.refreshAheadMs;
    if (!ahead || entry.ttlMs > ahead || this.#refreshing.has(key)) return;
    this.#refreshing.add(key);
    void this.#refresh(key, compute, options).finally(() => this.#refreshing.delete(key));
  }

  /** Recomputes in the background under the key's lock, so one replica refreshes while the rest serve hits. */
  async #refresh<T>(key: string, compute: (mode: ComputeMode) => Promise<Computed<T>>, options: FetchOptions): Promise<void> {
    const emit = options.onEvent ?? noop;
    try {
      const token = await this.#lock.tryTake(this.#keys.lock(key));
      if (!token) return; // another replica, or a miss, is computing it already
      emit('refresh');
      await this.#computeAndStore(key, compute, 'refresh', token, options);
    } catch (error) {
      this.#report(error, { key, during: 'refresh' }, emit, false);
    }
  }

  async #state(key: string): Promise<{ entry: CacheEntry | undefined; locked: boolean }> {
    const [value, pttl, locked] = await this.#redis.kaliumCacheReadBuffer(this.#keys.value(key), this.#keys.lock(key));
    // PTTL is -1 only for a key someone stored without a TTL: count it as due (a refresh-ahead rewrites it).
    return { entry: value === null ? undefined : { value, ttlMs: Math.max(0, pttl) }, locked: locked === 1 };
  }

  /** Hands an error to `onError`; what it throws fails the call unless nobody is waiting on it. */
  #report(error: unknown, context: CacheErrorContext, emit: (event: CacheEvent) => void, rethrow: boolean): void {
    emit('error');
    try {
      this.#onError(error, context);
    } catch (thrown) {
      if (rethrow) throw thrown;
    }
  }

  /** Wakes every waiter (they re-read and, Redis gone, compute) and drops the subscription. Idempotent. */
  close(): void {
    this.#listener.close();
  }
}

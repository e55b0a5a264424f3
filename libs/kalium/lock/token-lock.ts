import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connection.ts';
import { withScripts, type ScriptedRedis } from '../redis/scripts.ts';

/** Keeps token locks alive until told to stop (the lock keeper's thread, or a timer on this thread). */
export interface TokenKeeper {
  /** Renews `key` for `token` every third of `ttlMs`, until the returned function is called. */
  keepToken(lock: { what: string; key: string; token: string; ttlMs: number }): () => void;
}

/**
 * kalium's one token lock, for the GPU lease and the cache's compute locks (job locks are BullMQ's,
 * kept by the same keeper): a Redis key holding its holder's random token, with a TTL. Taken by
 * SET NX, kept alive by a TokenKeeper, renewed and released only by compare-and-delete scripts, so a
 * crashed holder frees it within the TTL and no one frees or extends another's.
 */
export class TokenLock {
  readonly #redis: ScriptedRedis;
  readonly #keeper: TokenKeeper;

  constructor(redis: RedisClient, keeper: TokenKeeper) {
    this.#redis = withScripts(redis);
    this.#keeper = keeper;
  }

  /** A fresh random token. */
  static token(): string {
    return randomBytes(16).toString('hex');
  }

  /** Takes the lock if it is free: the token that holds it, or undefined when another holds it. */
  async take(key: string, ttlMs: number, token = TokenLock.token()): Promise<string | undefined> {
    return (await this.#redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK' ? token : undefined;
  }

  /** Keeps a held lock alive (see TokenKeeper); returns the function that stops. */
  keep(what: string, key: string, token: string, ttlMs: number): () => void {
    return this.#keeper.keepToken({ what, key, token, ttlMs });
  }

  /** Releases the lock if `token` holds it, announcing `message` on `channel`. True when released. */
  async release(key: string, token: string, channel: string, message: string): Promise<boolean> {
    return (await this.#redis.kaliumTokenRelease(key, channel, token, message)) === 1;
  }
}

/**
 * A TokenKeeper on this thread's event loop, for a lock outside a kalium process (a `Cache` made by
 * hand). A blocked event loop lets such a lock lapse; kalium's processes use the lock keeper's thread.
 */
export function timerKeeper(redis: RedisClient): TokenKeeper {
  const scripted = withScripts(redis);
  return {
    keepToken({ key, token, ttlMs }) {
      const timer = setInterval(() => {
        scripted.kaliumTokenRenew(key, token, ttlMs).then(
          (renewed) => renewed !== 1 && clearInterval(timer), // lapsed, maybe taken by another: hands off
          () => {}, // retried on the next tick; if Redis stays away the lock lapses
        );
      }, Math.max(30, Math.floor(ttlMs / 3)));
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

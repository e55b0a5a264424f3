import type { RedisClient } from '../redis/connection.ts';
import type { TokenKeeper } from '../lock/token-lock.ts';
import type { Logger } from '../log/logger.ts';
import type { AppKeys } from '../redis/keys.ts';
import { Cache } from './cache.ts';
import { CacheEngine, type CacheErrorContext } from './cache-engine.ts';

/** The caches of one kalium process: the routes' response cache and `app.cache`. */
export interface RuntimeCaches {
  readonly routes: CacheEngine;
  readonly app: Cache;
  /** Wakes waiters and drops the subscriptions (the runtime closes the connections). */
  close(): void;
}

/** Polling fallback of waiters, in ms; notices normally wake them sooner. */
const POLL_MS = 100;
/** At most one "cache unavailable" warning per this many ms, so an outage does not flood the log. */
const WARN_EVERY_MS = 5000;

/**
 * Builds the process's caches on its Redis. They degrade rather than fail: a Redis error is logged
 * and the answer computed without the cache (a gpu route still needs Redis for its lease, so it
 * answers 503 then). The compute lock's TTL is the GPU lease's (`KALIUM_LEASE_TTL_MS`): both bound how
 * long a crashed holder blocks others.
 */
export function createRuntimeCaches(options: {
  redis: RedisClient;
  subscriber: () => RedisClient;
  keys: AppKeys;
  lockTtlMs: number;
  keeper: TokenKeeper;
  logger: Logger;
}): RuntimeCaches {
  const onError = throttledWarning(options.logger);
  const engine = (keys: AppKeys['routeCache']) =>
    new CacheEngine({ redis: options.redis, subscriber: options.subscriber, keys, lockTtlMs: options.lockTtlMs, keeper: options.keeper, pollMs: POLL_MS, onError });
  const routes = engine(options.keys.routeCache);
  const appEngine = engine(options.keys.appCache);
  return {
    routes,
    app: new Cache(appEngine),
    close() {
      routes.close();
      appEngine.close();
    },
  };
}

function throttledWarning(logger: Logger): (error: unknown, context: CacheErrorContext) => void {
  let last = 0;
  let suppressed = 0;
  return (error, context) => {
    const now = Date.now();
    if (now - last < WARN_EVERY_MS) {
      suppressed += 1;
      return;
    }
    const message = context.during === 'refresh' ? 'cache refresh-ahead failed' : 'cache error; answering without the cache';
    logger.warn({ err: error, cacheKey: context.key, during: context.during, suppressed }, message);
    last = now;
    suppressed = 0;
  };
}

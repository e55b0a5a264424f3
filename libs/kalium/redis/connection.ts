import { Redis, type RedisOptions } from 'ioredis';

export type ConnectionRole =
  /** Commands on a request's path: fail at once while disconnected, so callers answer 503 instead of hanging. */
  | 'command'
  /** BullMQ workers and blocking or subscribing clients: wait and reconnect forever. */
  | 'blocking';

/**
 * Opens a Redis connection from a URL. `command` connections never queue commands while Redis is
 * down (ioredis' offline queue would hold a request until Redis returns), so an outage surfaces as an
 * error within a second; both kinds reconnect by themselves, with capped backoff.
 */
export function createRedis(url: string, role: ConnectionRole, extra: RedisOptions = {}): Redis {
  const options: RedisOptions = {
    lazyConnect: false,
    connectTimeout: 1000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
    ...(role === 'command'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000 }
      : { enableOfflineQueue: true, maxRetriesPerRequest: null }),
    ...extra,
  };
  const redis = new Redis(url, options);
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash the process.
  redis.on('error', () => {});
  return redis;
}

/** Closes a connection, quitting politely when it is up and disconnecting otherwise. Never throws. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    if (redis.status === 'ready') await redis.quit();
    else redis.disconnect();
  } catch {
    redis.disconnect();
  }
}

/**
 * Waits up to `timeoutMs` for a connection still connecting (a Store made at module load is used before
 * its first connect finishes). Resolves either way: a command on a connection still down then fails fast.
 */
export async function whenReady(redis: Redis, timeoutMs = 1000): Promise<void> {
  if (redis.status === 'ready' || redis.status === 'end') return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    }
    redis.once('ready', done);
  });
}

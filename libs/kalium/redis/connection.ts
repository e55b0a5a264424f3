import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { parseRedisUrl } from './redis-url.ts';

/** A connection kalium uses: one server (direct or through Sentinel) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export type ConnectionRole =
  /** Commands on a request's path: fail at once while disconnected, so callers answer 503 instead of hanging. */
  | 'command'
  /** BullMQ workers and blocking or subscribing clients: wait and reconnect forever. */
  | 'blocking';

const BACKOFF = (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1000);

/** How long a command connection waits for Redis to answer anything while commands are pending. */
const COMMAND_DEADLINE_MS = 1000;
/** How often a command connection's watchdog looks (a command fails 1 to 1.25 deadlines after it was sent). */
const WATCH_EVERY_MS = COMMAND_DEADLINE_MS / 4;

/**
 * Opens a Redis connection from a URL (any scheme of {@link parseRedisUrl}: `redis://`, `rediss://`,
 * `redis-sentinel://`, `redis-cluster://` and their TLS forms). `command` connections never queue
 * commands while Redis is down (ioredis' offline queue would hold a request until Redis returns),
 * so an outage surfaces as an error within a second; both kinds reconnect by themselves, with
 * capped backoff. `extra` is merged into the options of each server connection.
 */
export function createRedis(url: string, role: ConnectionRole, extra: RedisOptions = {}): RedisClient {
  const target = parseRedisUrl(url);
  const offlineQueue = role !== 'command';
  const perRequest: RedisOptions = role === 'command' ? { maxRetriesPerRequest: 1 } : { maxRetriesPerRequest: null };
  let redis: RedisClient;
  if (target.kind === 'cluster') {
    // The cluster owns reconnecting and the offline queue; each node connection gets the rest.
    const nodeExtra: RedisOptions = { ...extra };
    delete nodeExtra.retryStrategy;
    delete nodeExtra.enableOfflineQueue;
    redis = new Cluster(target.nodes, {
      ...target.options,
      enableOfflineQueue: offlineQueue,
      clusterRetryStrategy: BACKOFF,
      // BullMQ vets blocking connections by the nodes' maxRetriesPerRequest, so it is set there. The
      // cluster's node connections are its own: they get ioredis' per-command timeout instead of a watchdog.
      redisOptions: {
        ...target.options.redisOptions,
        connectTimeout: 1000,
        ...perRequest,
        ...(role === 'command' ? { commandTimeout: COMMAND_DEADLINE_MS } : {}),
        ...nodeExtra,
      },
    });
  } else {
    redis = new Redis({
      ...target.options,
      // Sentinel: `retryStrategy` governs reconnecting to the master; the sentinels get the same backoff.
      ...(target.kind === 'sentinel' ? { sentinelRetryStrategy: BACKOFF } : {}),
      lazyConnect: false,
      connectTimeout: 1000,
      retryStrategy: BACKOFF,
      enableOfflineQueue: offlineQueue,
      ...perRequest,
      ...extra,
    });
    if (role === 'command') watchReplies(redis);
  }
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash the process.
  redis.on('error', () => {});
  return redis;
}

/** What the watchdog reads of ioredis' connection: its queue of commands sent and not yet answered. */
interface PendingCommands {
  commandQueue?: { peekFront(): unknown; toArray(): Array<{ command: { reject(error: Error): void } }> };
}

/**
 * Fails the pending commands of a command connection on which Redis has answered nothing for
 * COMMAND_DEADLINE_MS: a hung server, or a network path that drops packets without a reset, surfaces
 * as an error (503 for requests) instead of a request that never ends. One timer per connection looks
 * at the oldest pending command; the same one still oldest after the deadline means no reply came
 * since. It replaces ioredis' per-command `commandTimeout`, whose timer per command (and the `delete`
 * that clears it, which leaves each command object in dictionary mode) doubled the time the api spent
 * in young-generation GC on the cache-hit path. It reads ioredis' internal command queue (ioredis is
 * pinned by the lock file; test/redis/command-deadline.test.ts fails if that changes).
 */
function watchReplies(redis: Redis): void {
  let oldest: unknown;
  let since = 0;
  const timer = setInterval(() => {
    const queue = (redis as unknown as PendingCommands).commandQueue;
    const first = queue?.peekFront();
    if (first === undefined || first !== oldest) {
      oldest = first;
      since = Date.now();
      return;
    }
    if (Date.now() - since < COMMAND_DEADLINE_MS) return;
    const error = new Error(`Command timed out: Redis answered nothing for ${COMMAND_DEADLINE_MS} ms`);
    for (const { command } of queue!.toArray()) command.reject(error);
    oldest = undefined;
  }, WATCH_EVERY_MS);
  timer.unref();
  redis.once('end', () => clearInterval(timer));
}

/** Closes a connection, quitting politely when it is up and disconnecting otherwise. Never throws. */
export async function closeRedis(redis: RedisClient): Promise<void> {
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
export async function whenReady(redis: RedisClient, timeoutMs = 1000): Promise<void> {
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

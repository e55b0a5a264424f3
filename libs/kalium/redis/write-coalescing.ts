import { Cluster } from 'ioredis';
import type { RedisClient } from './connection.ts';

/** One coalescing function per connection, whoever asks for it: its users share the turn's one write. */
const coalescers = new WeakMap<RedisClient, () => void>();

/**
 * Groups the commands sent on a connection within one turn of the event loop into one socket write.
 * Call the returned function before sending: the first call of a turn corks the connection's socket,
 * which is uncorked once the turn's I/O callbacks have run (setImmediate). Under load, the cache hits of
 * many concurrent requests then cost one write (and one wake-up of Redis) instead of one each — the
 * difference between the hit path keeping up with a plain route or not — and a job status read (four
 * reads and BullMQ's state script) costs one write instead of five. Nothing waits longer than the rest
 * of the current turn. Every caller gets the same function for the same connection.
 */
export function writeCoalescer(redis: RedisClient): () => void {
  let coalesce = coalescers.get(redis);
  if (!coalesce) coalescers.set(redis, (coalesce = newCoalescer(redis)));
  return coalesce;
}

function newCoalescer(redis: RedisClient): () => void {
  // A Cluster writes to one socket per node, none of them known up front: it goes uncoalesced.
  if (redis instanceof Cluster) return () => {};
  let corked = false;
  return () => {
    if (corked) return;
    const stream = redis.stream as { cork?: () => void; uncork?: () => void } | undefined;
    if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return;
    stream.cork();
    corked = true;
    setImmediate(() => {
      corked = false;
      // The socket may have been replaced by a reconnect meanwhile; uncorking the old one is harmless.
      stream.uncork!();
    });
  };
}

import { Cluster } from 'ioredis';
import type { RedisClient } from './connection.ts';

/** A connection's coalescer: `coalesce()` before sending; `afterWrite(fn)` to act once the write has left. */
interface Coalescer {
  coalesce(): void;
  afterWrite(fn: () => void): void;
}

/** One coalescer per connection, whoever asks for it: its users share the turn's one write. */
const coalescers = new WeakMap<RedisClient, Coalescer>();

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
  return coalescerOf(redis).coalesce;
}

/**
 * Runs `fn` right after the connection's pending write has left (in the same phase of the event loop),
 * or at the next setImmediate when nothing is pending: work that should not delay that write.
 */
export function afterNextWrite(redis: RedisClient, fn: () => void): void {
  coalescerOf(redis).afterWrite(fn);
}

function coalescerOf(redis: RedisClient): Coalescer {
  let coalescer = coalescers.get(redis);
  if (!coalescer) coalescers.set(redis, (coalescer = newCoalescer(redis)));
  return coalescer;
}

function newCoalescer(redis: RedisClient): Coalescer {
  // A Cluster writes to one socket per node, none of them known up front: it goes uncoalesced.
  if (redis instanceof Cluster) return { coalesce: () => {}, afterWrite: (fn) => void setImmediate(fn) };
  let corked = false;
  let after: Array<() => void> = [];
  const coalesce = () => {
    if (corked) return;
    const stream = redis.stream as { cork?: () => void; uncork?: () => void } | undefined;
    if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return;
    stream.cork();
    corked = true;
    setImmediate(() => {
      corked = false;
      // The socket may have been replaced by a reconnect meanwhile; uncorking the old one is harmless.
      stream.uncork!();
      const waiting = after;
      after = [];
      for (const fn of waiting) fn();
    });
  };
  const afterWrite = (fn: () => void) => {
    if (corked) after.push(fn);
    else setImmediate(fn);
  };
  return { coalesce, afterWrite };
}

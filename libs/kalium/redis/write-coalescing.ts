import type { Redis } from 'ioredis';

/**
 * Groups the commands sent on a connection within one turn of the event loop into one socket write.
 * Call the returned function before sending: the first call of a turn corks the connection's socket,
 * which is uncorked once the turn's I/O callbacks have run (setImmediate). Under load, the cache hits of
 * many concurrent requests then cost one write (and one wake-up of Redis) instead of one each — the
 * difference between the hit path keeping up with a plain route or not. Nothing waits longer than the
 * rest of the current turn.
 */
export function writeCoalescer(redis: Redis): () => void {
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

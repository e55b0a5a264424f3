import type { Redis } from 'ioredis';

/**
 * Sends what `send` issues, and whatever else goes out on the connection before the current run of
 * promise callbacks ends, in one write to the socket (cork now, uncork on the next tick). On a loopback
 * or VM network each write costs as much as a small command's work in Redis, so commands that follow
 * each other anyway (a job's result, then BullMQ's completion of the job) should share one. Order is
 * unchanged: Redis runs them as sent. A connection not ready sends as usual (its offline queue).
 */
export function coalesced<T>(redis: Redis, send: () => T): T {
  const stream = redis.status === 'ready' ? redis.stream : undefined;
  if (!stream || stream.writableCorked > 0) return send();
  stream.cork();
  process.nextTick(() => stream.uncork());
  return send();
}

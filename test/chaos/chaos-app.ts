// The app the fault-injection suite runs. Its one background route records every run of its handler
// in Redis, so the suite measures re-runs and duplicates rather than assuming them:
//   chaos:runs:<job id>     INCR per run                       → re-runs
//   chaos:nonces:<job id>   RPUSH of each run's random nonce   → which run's result was stored
//   chaos:key:<key>         SADD of the job id per Idempotency-Key → a second job for one key
//   chaos:running:<job id>  the pid of the worker running it now → whom to kill in "consecutive kills"
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Kalium } from 'kalium';

const app = new Kalium<{ pid: number }>('chaos');
let redis: Redis | undefined;
const records = () => {
  redis ??= new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  redis.on('error', () => {}); // Redis is killed on purpose; the commands wait for it to come back
  return redis;
};

app.init(async () => ({ pid: process.pid }));

app.background('/work', { gpu: true }, async (context, request, job) => {
  // A malformed request the suite sends may still make a job (an XML body, a slow one): it runs as a no-op.
  const input = (request.json ?? { i: -1, ms: 0 }) as { i: number; ms: number };
  const key = request.headers['idempotency-key'] ?? '';
  const nonce = randomUUID();
  const run = await records()
    .multi()
    .incr(`chaos:runs:${job.id}`)
    .rpush(`chaos:nonces:${job.id}`, nonce)
    .sadd(`chaos:key:${key}`, job.id)
    .set(`chaos:running:${job.id}`, String(context.pid))
    .exec();
  await sleep(Number(input.ms) || 0, undefined, { signal: job.signal });
  return { i: input.i, key, nonce, run: Number(run?.[0]?.[1] ?? 0), pid: context.pid };
});

export default app;

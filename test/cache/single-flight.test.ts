// Single flight across replicas: two real `kalium api` processes on one Redis, a cached gpu route whose
// every model run INCRs a counter in Redis (test/fixtures/cache-app.ts).
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import type { Redis } from 'ioredis';
import { startKalium, type KaliumProcess } from '../helpers/kalium-process.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { waitReady } from '../helpers/wait-ready.ts';

const APP = fileURLToPath(new URL('../fixtures/apps/cache-app.ts', import.meta.url));
const PREFIX = '{kalium:cachefixture}';

let redis: RedisServer;
let raw: Redis;
const processes: KaliumProcess[] = [];

test.before(async () => {
  redis = await startRedis();
  raw = redis.client();
});

test.after.always(async () => {
  await Promise.all(processes.map((p) => p.kill('SIGKILL')));
  await redis?.stop();
});

/** Two api replicas; the lock and lease TTLs are 1 s so that a crashed holder frees quickly. */
async function startReplicas(): Promise<[KaliumProcess, KaliumProcess]> {
  const env = { REDIS_URL: redis.url, KALIUM_LEASE_TTL_MS: '1000' };
  const start = async () => {
    const replica = await startKalium('api', APP, env, { timeoutMs: 60_000 });
    processes.push(replica);
    await waitReady(replica.url);
    return replica;
  };
  return Promise.all([start(), start()]);
}

const model = (base: string, body: unknown) =>
  fetch(`${base}/model`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function runs(tag: string): Promise<number> {
  return Number((await raw.get(`runs:/model:${tag}`)) ?? 0);
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(25);
  }
}

test.serial('100 concurrent identical requests across two api processes run the model once', async (t) => {
  const [a, b] = await startReplicas();
  await raw.set('ms:hundred', '500');
  const answers = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const response = await model(i % 2 === 0 ? a.url : b.url, { text: 'hello', tag: 'hundred' });
      return { status: response.status, cache: response.headers.get('x-cache'), etag: response.headers.get('etag'), body: await response.text() };
    }),
  );
  t.is(await runs('hundred'), 1);
  t.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]), 'none got 423: waiters never asked for the GPU');
  t.is(new Set(answers.map((a) => a.body)).size, 1);
  t.is(new Set(answers.map((a) => a.etag)).size, 1);
  t.is(answers.filter((a) => a.cache === 'MISS').length, 1);
  t.is(answers.filter((a) => a.cache === 'HIT').length, 99);
  t.like(JSON.parse(answers[0]!.body), { text: 'HELLO', run: 1 });
});

test.serial('a computer killed mid-computation frees the lock by its TTL, and a waiting replica computes', async (t) => {
  const [a, b] = await startReplicas();
  await raw.set('ms:crash', '60000');
  const doomed = model(a.url, { text: 'crash', tag: 'crash' }).catch(() => 'connection lost');
  await until('the first replica runs the model', async () => (await runs('crash')) === 1);
  const locks = await raw.keys(`${PREFIX}:cache:route:l:/model:*`);
  t.is(locks.length, 1, 'the computer holds the lock');

  // The other replica's request waits for the computer (it subscribes to the fill channel to do so).
  const started = Date.now();
  const waiting = model(b.url, { text: 'crash', tag: 'crash' });
  await until(
    `the second replica waits (logs: ${JSON.stringify(b.logs.slice(-5))})`,
    async () => ((await raw.pubsub('NUMSUB', `${PREFIX}:cache:route:filled`)) as [string, number])[1] >= 1,
  );
  await raw.set('ms:crash', '100');
  await a.kill('SIGKILL');
  t.is(await doomed, 'connection lost');

  const response = await waiting;
  const elapsed = Date.now() - started;
  t.is(response.status, 200);
  t.is(response.headers.get('x-cache'), 'MISS', 'the waiter computed it');
  t.like(await response.json(), { text: 'CRASH', run: 2, pid: b.child.pid });
  t.is(await runs('crash'), 2);
  t.true(elapsed < 30_000, `freed by the 1 s lock TTL, not by the 60 s lockTimeoutMs (${elapsed} ms)`);
  t.is((await model(b.url, { text: 'crash', tag: 'crash' })).headers.get('x-cache'), 'HIT');
});

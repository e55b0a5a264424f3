// The response cache when Redis fails: a cached route degrades to computing without the cache (a gpu
// route still needs Redis for its lease, so it answers 503), and catches up when Redis is back.
// Serial: the tests stop and fill up this file's Redis.
import test from 'ava';
import type { Redis } from 'ioredis';
import { createCacheApp } from '../fixtures/cache-app.ts';
import { startInProcessApi } from '../helpers/in-process-api.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { waitReady } from '../helpers/wait-ready.ts';

let redis: RedisServer;
let admin: Redis;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let counter: Redis;

test.before(async () => {
  redis = await startRedis();
  admin = redis.client();
  const fixture = createCacheApp(redis.url);
  counter = fixture.counter;
  api = await startInProcessApi(fixture.app, { REDIS_URL: redis.url });
  await waitReady(api.url);
});

test.after.always(async () => {
  await api?.close();
  counter?.disconnect();
  await redis?.stop();
});

const post = (path: string, body: unknown) =>
  fetch(api.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function errorEvents(route: string): Promise<number> {
  const { values } = await api.runtime.metrics.cache.get();
  return values.find((v) => v.labels.route === route && v.labels.event === 'error')?.value ?? 0;
}

test.serial('Redis refusing writes: the answer is computed and served, and the error is counted', async (t) => {
  const before = await errorEvents('/local');
  await admin.config('SET', 'maxmemory', '1');
  t.teardown(() => admin.config('SET', 'maxmemory', '0').then(() => undefined));
  const first = await post('/local', { n: 'oom' });
  const second = await post('/local', { n: 'oom' });
  t.is(first.status, 200);
  t.is(first.headers.get('x-cache'), 'MISS');
  t.is(second.headers.get('x-cache'), 'MISS', 'nothing could be stored');
  t.not((await first.json()).run, (await second.json()).run);
  t.true((await errorEvents('/local')) >= before + 2);
  await admin.config('SET', 'maxmemory', '0');
  t.is((await post('/local', { n: 'oom' })).headers.get('x-cache'), 'MISS');
  t.is((await post('/local', { n: 'oom' })).headers.get('x-cache'), 'HIT');
});

test.serial('Redis down: a cached gpu=false route computes without the cache; a gpu route answers 503; both recover', async (t) => {
  t.is((await post('/local', { n: 'down' })).headers.get('x-cache'), 'MISS');
  t.is((await post('/local', { n: 'down' })).headers.get('x-cache'), 'HIT');
  await redis.kill();

  const started = Date.now();
  const down = await post('/local', { n: 'down' });
  t.is(down.status, 200);
  t.is(down.headers.get('x-cache'), 'MISS');
  const downAgain = await post('/local', { n: 'down' });
  t.not((await down.json()).run, (await downAgain.json()).run, 'each request computes');
  const gpu = await post('/gpu', { tag: 'down' });
  t.is(gpu.status, 503);
  t.is((await gpu.json()).error.code, 'backend_unavailable');
  t.true(Date.now() - started < 5000, 'never hangs');

  await redis.restart();
  await waitReady(api.url);
  t.is((await post('/local', { n: 'back' })).headers.get('x-cache'), 'MISS');
  t.is((await post('/local', { n: 'back' })).headers.get('x-cache'), 'HIT');
});

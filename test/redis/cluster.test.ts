import test from 'ava';
import { Cluster } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kalium } from 'kalium';
import app from '../fixtures/apps/gpu-app.ts';
import { createRedis, closeRedis } from '../../libs/kalium/redis/connection.ts';
import { appKeys } from '../../libs/kalium/redis/keys.ts';
import { Store } from '../../libs/kalium/store/store.ts';
import { startInProcessApi } from '../helpers/in-process-api.ts';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.ts';

let cluster: RedisCluster;
let api: Awaited<ReturnType<typeof startInProcessApi>>;

test.before(async () => {
  cluster = await startRedisCluster();
  api = await startInProcessApi(app, { REDIS_URL: cluster.url, KALIUM_LEASE_TTL_MS: '2000' });
});

test.after.always(async () => {
  await api?.close();
  await cluster?.stop();
});

const post = (path: string, body: unknown) =>
  fetch(api.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test.serial('the api runs on a 3-node Redis Cluster: ready, and a gpu handler holds the lease so a second one gets 423', async (t) => {
  t.true(api.runtime.redis instanceof Cluster);
  t.is((await fetch(`${api.url}/readyz`)).status, 200);
  const slow = post('/slow', { ms: 1500 });
  for (let i = 0; i < 200 && !(await api.runtime.lease.isHeld()); i++) await new Promise((r) => setTimeout(r, 20));
  const busy = await post('/slow', { ms: 0 });
  t.is(busy.status, 423);
  t.is(((await busy.json()) as { error: { code: string } }).error.code, 'gpu_busy');
  t.is((await post('/free', {})).status, 200, 'a gpu=false route answers meanwhile');
  t.is((await slow).status, 200);
  t.false(await api.runtime.lease.isHeld(), 'released by compare-and-delete (a two-key script) on the cluster');
});

test.serial('a release is announced on the cluster, and a waiter gets the lease', async (t) => {
  const subscriber = createRedis(cluster.url, 'blocking');
  t.teardown(() => closeRedis(subscriber));
  const announced = new Promise<string>((resolve) => subscriber.on('message', (channel: string) => resolve(channel)));
  await subscriber.subscribe(api.runtime.keys.leaseReleased('default'));

  const hold = await api.runtime.lease.tryAcquire();
  t.truthy(hold);
  const waiting = api.runtime.lease.acquire(10_000);
  await new Promise((r) => setTimeout(r, 200));
  await hold!.release();
  t.is(await announced, api.runtime.keys.leaseReleased('default'));
  const next = await waiting;
  t.truthy(next, 'the waiter got the lease');
  await next!.release();
});

test.serial('a held lease is renewed on the cluster past its TTL', async (t) => {
  const hold = await api.runtime.lease.tryAcquire();
  t.truthy(hold);
  await new Promise((r) => setTimeout(r, 3000)); // TTL is 2 s here
  t.true(await api.runtime.lease.isHeld());
  t.is(await api.runtime.lease.tryAcquire(), undefined);
  await hold!.release();
});

test.serial("the app's Store and a Store made from the cluster URL read and write through the cluster", async (t) => {
  await app.store.set('greeting', { hello: 'cluster' }, { ttl: 60 });
  t.deepEqual(await app.store.get('greeting'), { hello: 'cluster' });
  await app.store.delete('greeting');
  t.is(await app.store.get('greeting'), undefined);

  const own = new Store({ backend: 'redis', url: cluster.url, prefix: '{kalium:own}:store:' });
  t.teardown(() => own.close());
  await own.set('n', 42);
  t.is(await own.get('n'), 42);
});

test.serial("every key the app writes hashes to the one slot of its {kalium:<app>} tag", async (t) => {
  const redis = createRedis(cluster.url, 'command');
  t.teardown(() => closeRedis(redis));
  const keys = appKeys('fixture');
  const tagSlot = await cluster.node(0).cluster('KEYSLOT', keys.prefix);
  const cacheKeys = [keys.routeCache, keys.appCache].flatMap((cache) => [cache.value('k'), cache.lock('k'), cache.filled]);
  for (const key of [keys.lease('default'), keys.leaseReleased('default'), keys.store('x'), ...cacheKeys]) {
    t.is(await cluster.node(0).cluster('KEYSLOT', key), tagSlot, key);
  }
  await app.store.set('slot-probe', 1, { ttl: 60 });
  t.is(await redis.exists(keys.store('slot-probe')), 1);
});

test.serial('a cached handler on the cluster computes once for concurrent identical requests, then answers hits', async (t) => {
  let runs = 0;
  const cached = new Kalium('clustercache');
  cached.handler('/cached', { gpu: true, maxWaitMs: 10_000, cache: { ttl: 60, lockTimeoutMs: 20_000 } }, async (_context, request) => {
    runs += 1;
    await sleep(300);
    return { echo: request.json?.text };
  });
  const cachedApi = await startInProcessApi(cached, { REDIS_URL: cluster.url });
  t.teardown(() => cachedApi.close());
  const ask = () =>
    fetch(`${cachedApi.url}/cached`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"same"}' });
  const answers = await Promise.all(Array.from({ length: 8 }, ask));
  t.deepEqual(answers.map((a) => a.status), Array(8).fill(200));
  t.is(runs, 1, 'single flight across the waiters, through the cluster');
  const hit = await ask();
  t.is(hit.headers.get('x-cache'), 'HIT');
  t.deepEqual(await hit.json(), { echo: 'same' });
  t.is(runs, 1);
});

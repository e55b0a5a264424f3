// SPEC §6: one lease per device, shared across processes, renewed while held, freed by TTL when the
// holder dies, released only by its holder.
import { timerKeeper } from '../../libs/kalium/lock/token-lock.ts';
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { GpuLease } from '../../libs/kalium/gpu/lease.ts';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { appKeys } from '../../libs/kalium/redis/keys.ts';
import { startKalium, type KaliumProcess } from '../helpers/kalium-process.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

const APP = 'test/fixtures/apps/gpu-app.ts';
const KEY = appKeys('fixture').lease('default');
let redis: RedisServer;
const processes: KaliumProcess[] = [];

test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await Promise.all(processes.map((p) => p.kill('SIGKILL')));
  await redis?.stop();
});

async function api(env: Record<string, string> = {}): Promise<KaliumProcess> {
  const p = await startKalium('api', APP, { REDIS_URL: redis.url, ...env });
  processes.push(p);
  return p;
}
const post = (url: string, path: string, body: unknown = {}) =>
  fetch(url + path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await sleep(50);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

test.serial('two concurrent gpu requests: one runs, the other gets 423 gpu_busy with Retry-After at once', async (t) => {
  const a = await api();
  const slow = post(a.url, '/slow', { ms: 1500 });
  await until(async () => (await redis.client().exists(KEY)) === 1, 5000);
  const started = Date.now();
  const busy = await post(a.url, '/slow', { ms: 0 });
  t.is(busy.status, 423);
  t.true(Date.now() - started < 1000, 'the 423 came at once, not after the other request');
  t.is(busy.headers.get('retry-after'), '1');
  t.is(((await busy.json()) as any).error.code, 'gpu_busy');
  // gpu=false routes never touch the lease: they answer while the GPU is held.
  const free = await post(a.url, '/free');
  t.is(free.status, 200);
  t.is((await slow).status, 200);
  // Released by its holder: the next gpu request runs.
  t.is((await post(a.url, '/slow', { ms: 0 })).status, 200);
});

test.serial('maxWaitMs waits for the GPU instead of answering 423', async (t) => {
  const a = await api();
  const slow = post(a.url, '/slow', { ms: 700 });
  await until(async () => (await redis.client().exists(KEY)) === 1, 5000);
  const waited = await post(a.url, '/wait');
  t.is(waited.status, 200);
  t.is((await slow).status, 200);
});

test.serial('two api processes on one device share the lease; another device is independent', async (t) => {
  const [a, b, other] = await Promise.all([api(), api(), api({ KALIUM_DEVICE: 'gpu1' })]);
  const slow = post(a.url, '/slow', { ms: 2000 });
  await until(async () => (await redis.client().exists(KEY)) === 1, 5000);
  const fromB = await post(b.url, '/slow');
  t.is(fromB.status, 423, 'process B sees the lease process A holds');
  const fromOther = await post(other.url, '/slow');
  t.is(fromOther.status, 200, 'a process on another device is not blocked');
  t.is((await slow).status, 200);
  t.is((await post(b.url, '/slow')).status, 200);
});

test.serial('a lease is renewed while its holder runs, past its TTL', async (t) => {
  const a = await api({ KALIUM_LEASE_TTL_MS: '600' });
  const b = await api({ KALIUM_LEASE_TTL_MS: '600' });
  const slow = post(a.url, '/slow', { ms: 2500 });
  await until(async () => (await redis.client().exists(KEY)) === 1, 5000);
  await sleep(1500); // over twice the TTL
  t.is((await post(b.url, '/slow')).status, 423);
  t.is((await slow).status, 200);
});

test.serial('a holder killed with kill -9 frees the device within the lease TTL', async (t) => {
  const ttl = 1500;
  const a = await api({ KALIUM_LEASE_TTL_MS: String(ttl) });
  const b = await api({ KALIUM_LEASE_TTL_MS: String(ttl) });
  void post(a.url, '/slow', { ms: 60_000 }).catch(() => undefined);
  await until(async () => (await redis.client().exists(KEY)) === 1, 5000);
  await a.kill('SIGKILL');
  const killedAt = Date.now();
  t.is((await post(b.url, '/slow')).status, 423, 'right after the crash the lease is still held');
  await until(async () => (await post(b.url, '/slow')).status === 200, ttl + 3000);
  const freedAfter = Date.now() - killedAt;
  t.true(freedAfter <= ttl + 3000, `freed after ${freedAfter} ms`);
});

test.serial('only the holder can release: compare-and-delete leaves another token’s lease alone', async (t) => {
  const logger = createLogger({ level: 'silent' });
  const make = () =>
    new GpuLease({
      redis: redis.client(),
      subscriber: () => redis.client(),
      key: appKeys('lease-unit').lease('default'),
      releasedChannel: appKeys('lease-unit').leaseReleased('default'),
      ttlMs: 800,
      keeper: timerKeeper(redis.client()),
      logger,
    });
  const one = make();
  const two = make();
  const hold = await one.tryAcquire();
  t.truthy(hold);
  t.is(await two.tryAcquire(), undefined);
  // Simulate a holder whose lease expired and was taken by another: its release must not free the new holder.
  await redis.client().set(appKeys('lease-unit').lease('default'), 'someone-else', 'PX', 5000);
  await hold!.release();
  t.is(await redis.client().get(appKeys('lease-unit').lease('default')), 'someone-else');
  await redis.client().del(appKeys('lease-unit').lease('default'));
  // A waiter wakes on release, well before its poll would time out.
  const held = await one.tryAcquire();
  const waiting = two.acquire(5000);
  await sleep(100);
  await held!.release();
  const got = await waiting;
  t.truthy(got);
  await got!.release();
  one.close();
  two.close();
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { closeRedis, createRedis } from '../../libs/kalium/redis/connection.ts';
import { startKalium, type KaliumProcess } from '../helpers/kalium-process.ts';
import { getJob, JOBS_APP, post, PREFIX, readEvents, submit, waitForStatus } from '../helpers/job-stack.ts';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.ts';
import { waitReady } from '../helpers/wait-ready.ts';

// Background jobs end to end on a real 3-node Redis Cluster: an api and a worker as child processes,
// BullMQ under the app's {kalium:<app>} prefix, the worker's lock-keeper thread on the cluster too.

let cluster: RedisCluster;
let api: KaliumProcess;
let worker: KaliumProcess;

test.before(async () => {
  cluster = await startRedisCluster();
  const env = { REDIS_URL: cluster.url, LOG_LEVEL: 'debug', WEBHOOK_ALLOW_PRIVATE: 'true' };
  // Short locks and stalled checks: a lock the keeper thread failed to renew would lapse within a test.
  const shortLocks = { KALIUM_JOB_LOCK_MS: '1500', KALIUM_STALLED_INTERVAL_MS: '500', KALIUM_LEASE_TTL_MS: '1500' };
  [api, worker] = await Promise.all([
    startKalium('api', JOBS_APP, env, { timeoutMs: 60_000 }),
    startKalium('worker', JOBS_APP, { ...env, ...shortLocks }, { timeoutMs: 60_000 }),
  ]);
  await waitReady(api.url, 60_000);
});

test.after.always(async () => {
  await Promise.all([api?.kill('SIGKILL'), worker?.kill('SIGKILL')]);
  await cluster?.stop();
});

test.serial('a gpu job round trip: queued, run by the worker under the lease, result stored, events streamed', async (t) => {
  const id = await submit(api.url, '/gpu', { ms: 100 });
  const events = await readEvents(api.url, id);
  t.is(events.status, 200);
  t.deepEqual(events.events.at(-1)?.event, 'succeeded');
  const done = await waitForStatus(api.url, id, ['succeeded']);
  t.is(typeof done.result.pid, 'number');
  t.is(done.progress, 100);
  t.like(await worker.waitForLog((line) => line.msg === 'job finished' && line.jobId === id), { status: 'succeeded' });
});

test.serial('idempotency keys and long-poll work on the cluster', async (t) => {
  const first = await post(api.url, '/echo', { n: 1 }, { 'idempotency-key': 'cluster-key' });
  const again = await post(api.url, '/echo', { n: 1 }, { 'idempotency-key': 'cluster-key' });
  t.is(first.status, 202);
  t.is(again.status, 200);
  t.is(again.body.id, first.body.id);
  const waited = await getJob(api.url, first.body.id as string, '?wait=20');
  t.is(waited.body.status, 'succeeded');
  t.deepEqual(waited.body.result.echo, { n: 1 });
});

test.serial('a running job is canceled across processes through the cluster', async (t) => {
  const id = await submit(api.url, '/gpu', { ms: 20_000 });
  await waitForStatus(api.url, id, ['running']);
  const canceled = await fetch(`${api.url}/jobs/${id}`, { method: 'DELETE' });
  t.is(canceled.status, 200);
  const done = await waitForStatus(api.url, id, ['canceled'], 15_000);
  t.is(done.status, 'canceled');
});

test.serial('a batch route drains several queued jobs at once on the cluster', async (t) => {
  const ids = await Promise.all([1, 2, 3].map((n) => submit(api.url, '/batched', { n })));
  const done = await Promise.all(ids.map((id) => waitForStatus(api.url, id, ['succeeded'])));
  t.deepEqual(done.map((job) => job.result.n), [1, 2, 3]);
  t.deepEqual(done.map((job) => job.result.id), ids);
});

test.serial("a job running past its lock's duration keeps its lock and the GPU lease, renewed by the worker's thread on the cluster", async (t) => {
  const redis = createRedis(cluster.url, 'command');
  t.teardown(() => closeRedis(redis));
  const id = await submit(api.url, '/gpu', { ms: 2500 }); // 5 s in all, against a 1.5 s lock and lease
  await waitForStatus(api.url, id, ['running']);
  await sleep(3500);
  t.is(await redis.exists(`${PREFIX}:jobs:${id}:lock`), 1, 'the job lock outlived its 1.5 s TTL: renewed');
  t.is(await redis.exists(`${PREFIX}:gpu:default`), 1, 'the GPU lease outlived its 1.5 s TTL: renewed');
  const done = await waitForStatus(api.url, id, ['succeeded', 'failed'], 60_000);
  t.is(done.status, 'succeeded');
  t.is(done.attempts, 1);
});

test.serial("a job's webhook goes through the webhooks queue on the cluster to a real receiver", async (t) => {
  const received: Array<{ event: string; id: string }> = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body) as { event: string; id: string });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const id = await submit(api.url, '/echo', { hello: 'cluster' }, { 'x-webhook-url': hook });
  await waitForStatus(api.url, id, ['succeeded']);
  for (let i = 0; i < 300 && !received.some((r) => r.id === id); i++) await sleep(50);
  const delivery = received.find((r) => r.id === id);
  t.truthy(delivery, 'delivered');
  t.is(delivery?.event, 'succeeded');
});

// SPEC §4/§5: statuses before a worker runs, QUEUE_MAX, and Redis going away: 503 backend_unavailable
// within a second, never a hang, then both processes recover by themselves.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { startKalium } from '../helpers/kalium-process.ts';
import { getJob, JOBS_APP, post, PREFIX, startStack, submit, until, waitForStatus } from '../helpers/job-stack.ts';
import { startRedis } from '../helpers/redis-server.ts';

/** Jobs waiting to run: BullMQ's wait list and its prioritized set (kalium gives every job a priority, SPEC §14). */
const queued = async (client: { llen(key: string): Promise<number>; zcard(key: string): Promise<number> }) =>
  (await client.llen(`${PREFIX}:jobs:wait`)) + (await client.zcard(`${PREFIX}:jobs:prioritized`));

test.serial('with no worker a job stays queued; a worker started later runs it', async (t) => {
  const stack = await startStack({ workers: 0 });
  t.teardown(() => stack.close());
  const id = await submit(stack.api.url, '/echo', { n: 1 });
  await sleep(300);
  const queued = await getJob(stack.api.url, id);
  t.like(queued.body, { id, route: '/echo', status: 'queued', progress: 0, result: null, error: null, attempts: 0, started_at: null, finished_at: null });
  await stack.startWorker();
  t.is((await waitForStatus(stack.api.url, id, ['succeeded'])).result.echo.n, 1);
});

test.serial('over QUEUE_MAX waiting jobs a submit gets 503 queue_full with Retry-After, and nothing is queued', async (t) => {
  const stack = await startStack({ workers: 0, env: { QUEUE_MAX: '3' } });
  t.teardown(() => stack.close());
  for (let i = 0; i < 3; i++) t.is((await post(stack.api.url, '/echo', { i })).status, 202);
  const full = await post(stack.api.url, '/echo', { i: 3 });
  t.is(full.status, 503);
  t.is(full.body.error.code, 'queue_full');
  t.truthy(full.headers.get('retry-after'));
  t.is(await queued(stack.redis.client()), 3);
  // /__status__ shows the queue counts.
  const status = (await (await fetch(`${stack.api.url}/__status__`)).json()) as any;
  t.is(status.queue.waiting + status.queue.prioritized, 3, 'waiting (kalium queues every job with a priority: prioritized)');
  // Once the worker drains the queue, submits are accepted again.
  await stack.startWorker();
  await until(async () => (await queued(stack.redis.client())) === 0, 20_000, 'queue drained');
  t.is((await post(stack.api.url, '/echo', { i: 4 })).status, 202);
});

test.serial('Redis stopped: the api answers 503 backend_unavailable within a second; Redis back: api and worker recover by themselves', async (t) => {
  const stack = await startStack({ appendonly: true });
  t.teardown(() => stack.close());
  const before = await submit(stack.api.url, '/echo', { n: 'before' });
  await waitForStatus(stack.api.url, before, ['succeeded']);

  await stack.redis.kill();
  for (const attempt of [
    () => fetch(`${stack.api.url}/echo`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }),
    () => fetch(`${stack.api.url}/jobs/${before}`),
    () => fetch(`${stack.api.url}/jobs/${before}?wait=5`),
    () => fetch(`${stack.api.url}/jobs/${before}`, { method: 'DELETE' }),
  ]) {
    const started = Date.now();
    const res = await attempt();
    const took = Date.now() - started;
    t.is(res.status, 503);
    t.is(((await res.json()) as any).error.code, 'backend_unavailable');
    t.true(took < 1500, `answered in ${took} ms`);
  }
  t.is((await fetch(`${stack.api.url}/healthz`)).status, 200, 'the api process keeps running');

  await stack.redis.restart();
  // The api takes submits again, and the worker (which kept running) runs them.
  let id = '';
  await until(async () => {
    const res = await post(stack.api.url, '/echo', { n: 'after' });
    id = String(res.body.id ?? '');
    return res.status === 202;
  }, 15_000, 'the api accepts jobs again');
  const done = await waitForStatus(stack.api.url, id, ['succeeded'], 30_000);
  t.is(done.result.echo.n, 'after');
  t.is((await getJob(stack.api.url, before)).body.status, 'succeeded', 'with AOF on, the earlier job survived the restart');
});

test.serial('an api started while Redis is down answers 503 within a second instead of waiting for it', async (t) => {
  const redis = await startRedis();
  const url = redis.url;
  await redis.kill();
  const api = await startKalium('api', JOBS_APP, { REDIS_URL: url });
  t.teardown(async () => {
    await api.kill('SIGKILL');
    await redis.stop();
  });
  const started = Date.now();
  const res = await post(api.url, '/echo', {});
  t.is(res.status, 503);
  t.is(res.body.error.code, 'backend_unavailable');
  t.true(Date.now() - started < 1500, `answered in ${Date.now() - started} ms`);
  let refused = 0;
  const retries = (async () => {
    for (;;) {
      const status = (await post(api.url, '/echo', {})).status;
      if (status === 202) return;
      t.is(status, 503);
      refused += 1;
      await sleep(100);
    }
  })();
  await sleep(2500);
  await redis.restart();
  await retries;
  // No submit that was answered 503 while the connection came up became a job later: exactly the one
  // accepted request is queued.
  await sleep(1000);
  t.true(refused > 0);
  t.is(await queued(redis.client()), 1);
});

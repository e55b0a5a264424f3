// SPEC §5 crash safety: a worker killed mid-job → the job runs again and succeeds, its result written
// once; a handler that keeps the event loop busy is not run twice; the api killed right after accepting
// loses nothing.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KaliumProcess } from '../helpers/kalium-process.ts';
import { getJob, post, PREFIX, startStack, submit, until, waitForStatus } from '../helpers/job-stack.ts';

/** Short locks and frequent stalled checks, so recovery happens within a test's patience. */
const FAST_RECOVERY = { KALIUM_JOB_LOCK_MS: '1500', KALIUM_STALLED_INTERVAL_MS: '500', KALIUM_LEASE_TTL_MS: '1500' };

const startedOn = (workers: KaliumProcess[], id: string) =>
  Promise.race(workers.map((worker) => worker.waitForLog((line) => line.msg === 'job started' && line.jobId === id, 20_000).then(() => worker)));

test.serial('a worker killed with kill -9 mid-job: a restarted worker runs the job again and it succeeds', async (t) => {
  const stack = await startStack({ env: FAST_RECOVERY });
  t.teardown(() => stack.close());
  const id = await submit(stack.api.url, '/counted', { ms: 3000 });
  const client = stack.redis.client();
  await until(async () => (await client.get(`runs:${id}`)) === '1', 20_000, 'first run started');
  await stack.workers[0]!.kill('SIGKILL');
  t.is((await getJob(stack.api.url, id)).body.status, 'running', 'BullMQ still shows it running: its lock has not lapsed yet');

  await stack.startWorker();
  const done = await waitForStatus(stack.api.url, id, ['succeeded'], 40_000);
  t.is(await client.get(`runs:${id}`), '2', 'the handler ran twice');
  t.is(done.result.run, 2);
  t.is(done.result.attempt, 2, 'job.attempt counts the rerun');
  t.is(done.attempts, 2);
});

test.serial('a frozen worker loses its job to another; when it wakes, the result already stored is kept', async (t) => {
  const stack = await startStack({ workers: 2, env: FAST_RECOVERY });
  t.teardown(async () => {
    for (const worker of stack.workers) worker.child.kill('SIGCONT');
    await stack.close();
  });
  const id = await submit(stack.api.url, '/counted', { ms: 2500 });
  const first = await startedOn(stack.workers, id);
  await until(async () => (await stack.redis.client().get(`runs:${id}`)) === '1', 20_000, 'the first run reached its model call');
  first.child.kill('SIGSTOP'); // a GC pause, a VM freeze: the whole process, lock-keeping thread included
  const second = stack.workers.find((worker) => worker !== first)!;

  const done = await waitForStatus(stack.api.url, id, ['succeeded'], 40_000);
  t.is(done.result.run, 2, 'run by the other worker');
  t.is(done.result.pid, second.child.pid);
  first.child.kill('SIGCONT');
  await first.waitForLog((line) => line.msg === 'an earlier run of this job already stored its result; it is kept' && line.jobId === id, 20_000);
  const stored = JSON.parse((await stack.redis.client().get(`${PREFIX}:store:${id}`))!);
  t.is(stored.run, 2, 'the first result written stays: written once');
  const after = await getJob(stack.api.url, id);
  t.is(after.body.status, 'succeeded');
  t.is(after.body.result.run, 2);
  t.is(await stack.redis.client().get(`runs:${id}`), '2');
});

test.serial('a handler that blocks the event loop past the lock duration is not run twice, and keeps the GPU', async (t) => {
  const env = { KALIUM_JOB_LOCK_MS: '1000', KALIUM_STALLED_INTERVAL_MS: '300', KALIUM_LEASE_TTL_MS: '1000' };
  const stack = await startStack({ workers: 2, env });
  t.teardown(() => stack.close());
  const id = await submit(stack.api.url, '/blocking', { ms: 4000 });
  await until(async () => (await stack.redis.client().get(`runs:${id}`)) === '1', 20_000, 'the blocking run started');
  await sleep(2500); // well past both the lock (1 s) and the lease (1 s) durations
  t.is((await post(stack.api.url, '/sync')).status, 423, 'the lease is still held by the busy worker');
  const done = await waitForStatus(stack.api.url, id, ['succeeded'], 30_000);
  t.is(await stack.redis.client().get(`runs:${id}`), '1', 'ran once');
  t.is(done.attempts, 1);
  t.is(done.result.run, 1);
});

test.serial('the api killed with kill -9 right after accepting loses no accepted job', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const accepted: string[] = [];
  const submits = Array.from({ length: 40 }, async (_, n) => {
    await sleep(n * 5);
    try {
      const res = await post(stack.api.url, '/echo', { n });
      if (res.status === 202) accepted.push(String(res.body.id));
    } catch {
      // killed before it answered: not accepted, nothing promised
    }
  });
  await until(() => accepted.length >= 5, 10_000, 'some jobs accepted');
  await stack.api.kill('SIGKILL');
  await Promise.all(submits);
  t.true(accepted.length >= 5);
  const api = await stack.startApi();
  for (const id of accepted) t.is((await waitForStatus(api.url, id, ['succeeded'])).status, 'succeeded');
});

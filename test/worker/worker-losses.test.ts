// SPEC §17: a worker's death is not its handler's failure. A job whose workers die runs again without
// using up its attempts, until KALIUM_MAX_WORKER_LOSSES workers died running its handler (then failed
// `worker_lost`); a worker that died before the handler started costs the job nothing.
import test from 'ava';
import type { KaliumProcess } from '../helpers/kalium-process.ts';
import { getJob, PREFIX, startStack, submit, until, waitForStatus, type JobStack } from '../helpers/job-stack.ts';

/** Short locks and frequent stalled checks, so recovery happens within a test's patience. */
const FAST_RECOVERY = { KALIUM_JOB_LOCK_MS: '1500', KALIUM_STALLED_INTERVAL_MS: '500', KALIUM_LEASE_TTL_MS: '1500' };

/** Kills the worker once the job's handler has started for the `run`-th time; starts the next worker. */
async function killAtRun(stack: JobStack, id: string, run: number): Promise<KaliumProcess> {
  const client = stack.redis.client();
  await until(async () => Number(await client.get(`runs:${id}`)) === run, 30_000, `run ${run} started`);
  await stack.workers.at(-1)!.kill('SIGKILL');
  return stack.startWorker();
}

test.serial('a job whose worker is killed three times in a row runs again each time and succeeds; attempts untouched', async (t) => {
  const stack = await startStack({ env: FAST_RECOVERY });
  t.teardown(() => stack.close());
  const id = await submit(stack.api.url, '/counted', { ms: 2500 });
  for (const run of [1, 2, 3]) await killAtRun(stack, id, run);
  await until(async () => (await stack.redis.client().get(`runs:${id}`)) === '4', 30_000, 'run 4 started');
  const running = (await getJob(stack.api.url, id)).body;
  t.like(running, { status: 'running', worker_losses: 3 }, 'GET /jobs/:id shows the workers lost so far');

  const done = await waitForStatus(stack.api.url, id, ['succeeded'], 30_000);
  t.is(done.result.run, 4);
  t.is(done.worker_losses, 3);
  t.is(done.attempts, 4, 'runs started, the lost ones included');
  const logs = await stack.redis.client().lrange(`${PREFIX}:jobs:${id}:logs`, 0, -1);
  t.true(logs.some((line) => line.startsWith('worker lost 3 of 5')), 'the job’s log (shown by the dashboard) says so');
});

test.serial('after KALIUM_MAX_WORKER_LOSSES lost workers the job fails with worker_lost, not run again', async (t) => {
  const stack = await startStack({ env: { ...FAST_RECOVERY, KALIUM_MAX_WORKER_LOSSES: '2' } });
  t.teardown(() => stack.close());
  const id = await submit(stack.api.url, '/counted', { ms: 60_000 });
  for (const run of [1, 2]) await killAtRun(stack, id, run);
  const failed = await waitForStatus(stack.api.url, id, ['failed'], 30_000);
  t.like(failed, { status: 'failed', error_code: 'worker_lost', worker_losses: 2 });
  t.regex(failed.error, /worker died 2 times while running it \(KALIUM_MAX_WORKER_LOSSES is 2\)/);
  t.is(await stack.redis.client().get(`runs:${id}`), '2', 'the third worker did not run it');
});

test.serial('workers killed while waiting for the GPU lease cost the job nothing', async (t) => {
  const stack = await startStack({ env: FAST_RECOVERY });
  t.teardown(() => stack.close());
  const client = stack.redis.client();
  await client.set(`${PREFIX}:gpu:default`, 'held-by-someone-else', 'PX', 120_000);
  const id = await submit(stack.api.url, '/counted', { ms: 0 });
  // Killed once the worker is waiting for the lease: it has taken the job (ats) and marked the take as
  // waiting (kalium:waiting, sent with its first ask for the lease). A kill in the same turn as the
  // take, before that write leaves, would count as a loss (see README, under faults).
  const waitingNow = async (taken: number) =>
    Number(await client.hget(`${PREFIX}:jobs:${id}`, 'ats')) === taken && (await client.hexists(`${PREFIX}:jobs:${id}`, 'kalium:waiting')) === 1;
  for (const taken of [1, 2]) {
    await until(() => waitingNow(taken), 30_000, `taken ${taken} times, and waiting for the lease`);
    await stack.workers.at(-1)!.kill('SIGKILL');
    await stack.startWorker();
  }
  await until(async () => Number(await client.hget(`${PREFIX}:jobs:${id}`, 'ats')) === 3, 30_000, 'taken a third time');
  await client.del(`${PREFIX}:gpu:default`);
  const done = await waitForStatus(stack.api.url, id, ['succeeded'], 30_000);
  t.is(done.worker_losses, 0, 'no handler had started');
  t.is(done.result.run, 1);
});

test.serial('with the default lock and stalled-check settings a killed worker’s job starts again within 10 s', async (t) => {
  const stack = await startStack({ workers: 2 });
  t.teardown(() => stack.close());
  const client = stack.redis.client();
  const id = await submit(stack.api.url, '/counted', { ms: 60_000 });
  // The worker running it: the one that logs its start (debug), whichever comes first.
  const victim = await Promise.race(
    stack.workers.map((worker) => worker.waitForLog((line) => line.msg === 'job started' && line.jobId === id, 30_000).then(() => worker)),
  );
  await until(async () => (await client.get(`runs:${id}`)) === '1', 30_000, 'first run started');
  const killedAt = Date.now();
  await victim.kill('SIGKILL');
  await until(async () => (await client.get(`runs:${id}`)) === '2', 20_000, 'second run started');
  const restartMs = Date.now() - killedAt;
  t.log(`the job started again ${restartMs} ms after the kill`);
  t.true(restartMs < 10_000, `restart took ${restartMs} ms`);
  t.like((await getJob(stack.api.url, id)).body, { status: 'running', worker_losses: 1 });
});

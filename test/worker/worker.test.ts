// SPEC §2 and §5: the GPU worker runs init once, takes the device's GPU lease for gpu jobs (a sync gpu
// request meanwhile gets 423), waits for the lease rather than failing, finishes its running job on
// SIGTERM, and batches jobs of a batch route.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { getJob, post, PREFIX, startStack, submit, until, waitForStatus } from '../helpers/job-stack.ts';
import { sampleValue, scrape } from '../helpers/prometheus.ts';

test.serial('a sync gpu request gets 423 while the worker holds the GPU lease; gpu=false routes still answer', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const id = await submit(stack.api.url, '/gpu', { ms: 1500 });
  await waitForStatus(stack.api.url, id, ['running']);
  await until(async () => (await stack.redis.client().exists(`${PREFIX}:gpu:default`)) === 1, 5000, 'lease taken');
  const busy = await post(stack.api.url, '/sync');
  t.is(busy.status, 423);
  t.is(busy.body.error.code, 'gpu_busy');
  t.is((await post(stack.api.url, '/result', { id })).status, 200, 'a gpu=false route answers meanwhile');
  await waitForStatus(stack.api.url, id, ['succeeded']);
  await until(async () => (await post(stack.api.url, '/sync')).status === 200, 5000, 'the lease is released after the job');
  t.pass();
});

test.serial('back-to-back gpu jobs keep the GPU lease between them; it is freed just after the last one', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const { url } = await stack.workers[0]!.waitForLog((line) => line.msg === 'worker metrics listening');
  const client = stack.redis.client();
  const lease = `${PREFIX}:gpu:default`;
  await client.set(lease, 'held-by-the-test', 'PX', 30_000); // the jobs queue up behind it
  const ids = await Promise.all(Array.from({ length: 20 }, () => submit(stack.api.url, '/gpu', { ms: 1 })));
  await client.del(lease);
  for (const id of ids) await waitForStatus(stack.api.url, id, ['succeeded']);
  const finished = Date.now();
  await until(async () => (await client.exists(lease)) === 0, 5000, 'the lease freed after the last job');
  t.true(Date.now() - finished < 1000, 'freed within a second of the last job');
  const taken = sampleValue(await scrape(`${String(url)}/metrics`), 'kalium_gpu_lease_wait_seconds_count', { role: 'worker' });
  t.true(taken !== undefined && taken <= 3, `the worker took the lease ${taken} times for 20 back-to-back jobs`);
});

test.serial('the worker waits for a lease held elsewhere instead of failing the job; init ran once', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const client = stack.redis.client();
  await client.set(`${PREFIX}:gpu:default`, 'someone-else', 'PX', 1500);
  const id = await submit(stack.api.url, '/counted', { ms: 0 });
  await sleep(700);
  t.is((await getJob(stack.api.url, id)).body.status, 'running', 'taken, waiting for the GPU');
  t.is(await client.get(`runs:${id}`), null, 'the handler has not run yet');
  const done = await waitForStatus(stack.api.url, id, ['succeeded']);
  t.is(done.result.run, 1);
  await submit(stack.api.url, '/echo', {}).then((next) => waitForStatus(stack.api.url, next, ['succeeded']));
  t.is(stack.workers[0]!.logs.filter((line) => line.msg === 'init finished').length, 1);
});

test.serial('SIGTERM: the worker finishes the running job, takes no other, and exits 0', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const running = await submit(stack.api.url, '/gpu', { ms: 700 });
  await waitForStatus(stack.api.url, running, ['running']);
  const next = await submit(stack.api.url, '/echo', {});
  const exited = stack.workers[0]!.kill('SIGTERM');
  t.is(await exited, 0);
  t.is((await getJob(stack.api.url, running)).body.status, 'succeeded');
  t.is((await getJob(stack.api.url, next)).body.status, 'queued', 'the next job waits for another worker');
  await stack.startWorker();
  await waitForStatus(stack.api.url, next, ['succeeded']);
});

test.serial('batching: the worker hands the handler up to maxSize queued jobs at once, result i to job i', async (t) => {
  const stack = await startStack({ workers: 0 });
  t.teardown(() => stack.close());
  const ids: string[] = [];
  for (let n = 0; n < 6; n++) ids.push(await submit(stack.api.url, '/batched', { n }));
  await stack.startWorker();
  const results = await Promise.all(ids.map((id) => waitForStatus(stack.api.url, id, ['succeeded'])));
  results.forEach((job, n) => {
    t.is(job.result.n, n, 'each job gets its own result');
    t.is(job.result.id, ids[n]);
  });
  t.deepEqual(results.map((job) => job.result.size), [4, 4, 4, 4, 2, 2], 'a batch of 4 (maxSize), then the 2 left');
});

test.serial('batching stops at a job of another route, which keeps its place in the queue', async (t) => {
  const stack = await startStack({ workers: 0 });
  t.teardown(() => stack.close());
  const a = await submit(stack.api.url, '/batched', { n: 'a' });
  const b = await submit(stack.api.url, '/batched', { n: 'b' });
  const other = await submit(stack.api.url, '/echo', { n: 'other' });
  const c = await submit(stack.api.url, '/batched', { n: 'c' });
  await stack.startWorker();
  const [ja, jb, jo, jc] = await Promise.all([a, b, other, c].map((id) => waitForStatus(stack.api.url, id, ['succeeded'])));
  t.deepEqual([ja!.result.size, jb!.result.size, jc!.result.size], [2, 2, 1]);
  t.true(Date.parse(jo!.finished_at) <= Date.parse(jc!.started_at), 'the other route’s job ran before the later batch');
  t.is(jo!.attempts, 1);
});

test.serial('batching waits up to maxWaitMs for more jobs to arrive', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const first = submit(stack.api.url, '/batched', { n: 1 });
  await sleep(50);
  const second = submit(stack.api.url, '/batched', { n: 2 });
  const jobs = await Promise.all([first, second].map(async (id) => waitForStatus(stack.api.url, await id, ['succeeded'])));
  t.deepEqual(jobs.map((job) => job.result.size), [2, 2], 'the second arrived within maxWaitMs (300 ms) and joined the first');
});

test.serial('a batch handler returning the wrong number of results fails every job of the batch', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const id = await submit(stack.api.url, '/batched-wrong', {});
  const failed = await waitForStatus(stack.api.url, id, ['failed']);
  t.is(failed.error, 'The batch handler must return an array of 1 results (one per request), got 0 results.');
});

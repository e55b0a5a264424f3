// SPEC §4 DELETE /jobs/:id: a queued job never runs; a running one sees job.signal abort although it runs
// in another process; 409 once it has ended; waiters and streams end with `canceled`.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { getJob, post, PREFIX, readEvents, startStack, submit, until, waitForStatus, type Json } from '../helpers/job-stack.ts';

const cancel = async (url: string, id: string): Promise<{ status: number; body: Json }> => {
  const res = await fetch(`${url}/jobs/${id}`, { method: 'DELETE' });
  return { status: res.status, body: (await res.json()) as Json };
};

test.serial('a queued job that is canceled never runs', async (t) => {
  const stack = await startStack({ workers: 0 });
  t.teardown(() => stack.close());
  const id = await submit(stack.api.url, '/counted', { ms: 0 });
  const canceled = await cancel(stack.api.url, id);
  t.is(canceled.status, 200);
  t.like(canceled.body, { id, route: '/counted', status: 'canceled', result: null, attempts: 0, started_at: null });
  t.truthy(canceled.body.finished_at);
  t.is(await stack.redis.client().llen(`${PREFIX}:jobs:wait`), 0, 'it left the queue');
  const again = await cancel(stack.api.url, id);
  t.is(again.status, 409, 'a canceled job has ended: canceling again is job_finished');
  t.is(again.body.error.code, 'job_finished');
  t.like((await getJob(stack.api.url, id)).body, { id, status: 'canceled' }, 'and changes nothing');

  await stack.startWorker();
  const later = await submit(stack.api.url, '/counted', { ms: 0 });
  await waitForStatus(stack.api.url, later, ['succeeded']);
  t.is(await stack.redis.client().get(`runs:${id}`), null, 'the canceled job never ran');
  t.like((await getJob(stack.api.url, id)).body, { id, status: 'canceled' });
  const ttl = await stack.redis.client().ttl(`${PREFIX}:canceled:${id}`);
  t.true(ttl > 0, 'its record expires (RESULT_TTL)');
});

test.serial('a running job sees job.signal abort when canceled from the api, and frees the GPU', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const id = await submit(stack.api.url, '/gpu', { ms: 20_000 });
  await waitForStatus(stack.api.url, id, ['running']);
  const waiter = getJob(stack.api.url, id, '?wait=30');
  const events = readEvents(stack.api.url, id);
  await sleep(200);

  const canceled = await cancel(stack.api.url, id);
  t.is(canceled.status, 200);
  t.like(canceled.body, { id, status: 'canceled', attempts: 1 });
  const stopped = await until(async () => (await post(stack.api.url, '/sync')).status === 200, 5000, 'GPU free again');
  t.true(stopped < 5000, 'the handler stopped (its 20 s sleep aborted), releasing the lease');
  await stack.workers[0]!.waitForLog((line) => line.msg === 'job canceled while running' && line.jobId === id, 5000);

  t.is((await waiter).body.status, 'canceled', 'a long-poll ends with the cancel');
  t.deepEqual((await events).events.map((e) => e.event).at(-1), 'canceled', 'an event stream ends with it');
  await stack.workers[0]!.waitForLog((line) => line.msg === 'job finished' && line.jobId === id && line.status === 'canceled', 5000);
  await until(async () => (await stack.redis.client().exists(`${PREFIX}:jobs:${id}`)) === 0, 5000, 'the worker took it out of BullMQ (not a failed job)');
  t.like((await getJob(stack.api.url, id)).body, { status: 'canceled', result: null, error: null });
  t.is((await cancel(stack.api.url, id)).status, 409, 'it has ended: a second cancel is job_finished');
});

test.serial('a running handler that ignores the signal: its result is not stored once canceled', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const id = await submit(stack.api.url, '/ignores-signal', { ms: 1500 });
  await waitForStatus(stack.api.url, id, ['running']);
  t.is((await cancel(stack.api.url, id)).body.status, 'canceled');
  await stack.workers[0]!.waitForLog((line) => line.msg === 'job finished' && line.jobId === id && line.status === 'canceled', 10_000);
  t.is(await stack.redis.client().exists(`${PREFIX}:store:${id}`), 0, 'no result in the Store');
  t.is((await getJob(stack.api.url, id)).body.status, 'canceled');
});

test.serial('a job canceled while its worker waits for the GPU lease never runs, and the worker moves on', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const client = stack.redis.client();
  await client.set(`${PREFIX}:gpu:default`, 'held-by-someone-else', 'PX', 60_000);
  const id = await submit(stack.api.url, '/counted', { ms: 0 });
  await waitForStatus(stack.api.url, id, ['running']);
  t.is((await cancel(stack.api.url, id)).body.status, 'canceled');
  await stack.workers[0]!.waitForLog((line) => line.msg === 'job finished' && line.jobId === id && line.status === 'canceled', 5000);
  await until(async () => (await client.exists(`${PREFIX}:jobs:${id}`)) === 0, 5000, 'worker dropped it');
  t.is(await client.get(`runs:${id}`), null);
  const next = await submit(stack.api.url, '/echo', { n: 1 });
  t.is((await waitForStatus(stack.api.url, next, ['succeeded'])).result.echo.n, 1);
});

test.serial('DELETE of a job that has ended: 409 job_finished; of an unknown one: 404', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const ok = await submit(stack.api.url, '/echo', {});
  await waitForStatus(stack.api.url, ok, ['succeeded']);
  const finished = await cancel(stack.api.url, ok);
  t.is(finished.status, 409);
  t.is(finished.body.error.code, 'job_finished');
  t.is((await getJob(stack.api.url, ok)).body.status, 'succeeded', 'nothing changed');
  const failed = await submit(stack.api.url, '/fails', {});
  await waitForStatus(stack.api.url, failed, ['failed']);
  t.is((await cancel(stack.api.url, failed)).status, 409);
  t.is((await cancel(stack.api.url, '0b9f1c2e-4a5b-4c6d-8e7f-0123456789ab')).status, 404);
});

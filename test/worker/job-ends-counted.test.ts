// How ended jobs are counted and logged: a canceled job is canceled in /metrics, /__status__ and the
// dashboard (never failed, never retried from it); a failed job's stack is in the worker's log line,
// never in the api's answer.
import test from 'ava';
import { PREFIX, startStack, submit, waitForStatus, type JobStack } from '../helpers/job-stack.ts';
import { sampleValue, scrape } from '../helpers/prometheus.ts';

let stack: JobStack;
test.before(async () => {
  stack = await startStack();
});
test.after.always(() => stack?.close());

const cancel = (id: string) => fetch(`${stack.api.url}/jobs/${id}`, { method: 'DELETE' });

test.serial('canceled jobs, queued or running, count as canceled in /__status__ and /metrics, and are not BullMQ failures', async (t) => {
  const running = await submit(stack.api.url, '/gpu', { ms: 20_000 });
  await waitForStatus(stack.api.url, running, ['running']);
  const queued = await submit(stack.api.url, '/echo', {});
  t.is((await cancel(queued)).status, 200);
  t.is((await cancel(running)).status, 200);
  await stack.workers[0]!.waitForLog((line) => line.msg === 'job finished' && line.jobId === running && line.status === 'canceled');
  const failing = await submit(stack.api.url, '/fails', {});
  await waitForStatus(stack.api.url, failing, ['failed']);

  const status = (await (await fetch(`${stack.api.url}/__status__`)).json()) as { queue: Record<string, number> };
  t.is(status.queue.canceled, 2);
  t.is(status.queue.failed, 1, 'only the real failure');
  const samples = await scrape(`${stack.api.url}/metrics`);
  t.is(sampleValue(samples, 'kalium_queue_jobs', { queue: 'jobs', state: 'canceled' }), 2);
  t.is(sampleValue(samples, 'kalium_queue_jobs', { queue: 'jobs', state: 'failed' }), 1);
  // The dashboard lists BullMQ's sets: a canceled job is in none, so it is neither a failure there nor
  // something its Retry could bring back as a run with started_at after finished_at.
  const client = stack.redis.client();
  t.deepEqual(await client.zrange(`${PREFIX}:jobs:failed`, 0, -1), [failing]);
  t.is(await client.exists(`${PREFIX}:jobs:${running}`), 0);
  for (const id of [queued, running]) {
    const body = await waitForStatus(stack.api.url, id, ['canceled']);
    t.true(body.started_at === null || body.started_at <= body.finished_at, 'started before it finished');
  }
});

test.serial('a failed job’s stack is in the worker’s log line, never in GET /jobs/:id', async (t) => {
  const id = await submit(stack.api.url, '/fails', {});
  const body = await waitForStatus(stack.api.url, id, ['failed']);
  t.is(body.error, 'model exploded on attempt 2 at /home/model/weights.bin');
  t.is(body.error_code, 'handler_error');
  t.false(JSON.stringify(body).includes('jobs-app.ts'), 'no stack frame in the answer');
  const line = await stack.workers[0]!.waitForLog((l) => l.msg === 'job finished' && l.jobId === id);
  const err = line.err as { stack?: string; message?: string } | undefined;
  t.is(err?.message, body.error);
  t.regex(err?.stack ?? '', /\n\s+at .*jobs-app\.ts/, 'the stack points at the handler');
  const retried = await stack.workers[0]!.waitForLog((l) => l.msg === 'job failed; it will be retried' && l.jobId === id);
  t.regex((retried.err as { stack?: string }).stack ?? '', /jobs-app\.ts/, 'and in the line of a failure that is retried');
});

// KaliumClient's job methods against a real api and worker.
import test from 'ava';
import { KaliumClient, KaliumClientError, type JobEvent } from '../../libs/client/index.ts';
import { startStack, waitForStatus, type JobStack } from '../helpers/job-stack.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';

let stack: JobStack;
let client: KaliumClient;

test.before(async () => {
  stack = await startStack({ env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
  client = new KaliumClient({ baseUrl: stack.api.url });
});
test.after.always(async () => {
  await stack?.close();
});

test.serial('submit resolves to the 202 body; wait resolves to the job once it has ended', async (t) => {
  const submitted = await client.submit('/gpu', { ms: 300 });
  t.like(submitted, { success: true, started: true, status: 'queued', status_url: `/jobs/${submitted.id}` });
  const job = await client.wait<{ pid: number }>(submitted.id, { timeoutMs: 30_000 });
  t.like(job, { id: submitted.id, status: 'succeeded', progress: 100, route: '/gpu' });
  t.is(typeof job.result?.pid, 'number');
  t.like(await client.get(submitted.id), { status: 'succeeded' });
});

test.serial('events iterates the job\'s progress and ends with its ending', async (t) => {
  const { id } = await client.submit('/gpu', { ms: 300 });
  const events: JobEvent[] = [];
  for await (const event of client.events(id)) events.push(event);
  const names = events.map((e) => e.event);
  t.is(names.at(-1), 'succeeded');
  t.true(names.slice(0, -1).every((name) => name === 'progress'), names.join(','));
  t.true(names.includes('progress'));
  t.like(events.at(-1)!.data, { id, status: 'succeeded' });
});

test.serial('breaking out of events returns at once, without waiting for the stream to end', async (t) => {
  const { id } = await client.submit('/gpu', { ms: 1500 });
  for await (const event of client.events(id)) {
    t.is(event.event, 'progress');
    break;
  }
  t.is((await client.get(id)).status, 'running', 'the loop ended while the job (and its stream) went on');
  t.like(await client.wait(id, { timeoutMs: 30_000 }), { status: 'succeeded' });
});

test.serial('wait gives up with wait_timeout; cancel ends a running job; canceling a finished job is job_finished', async (t) => {
  const { id } = await client.submit('/gpu', { ms: 5000 });
  await waitForStatus(stack.api.url, id, ['running']);
  const timeout = await t.throwsAsync(client.wait(id, { timeoutMs: 1200 }), { instanceOf: KaliumClientError });
  t.like(timeout, { code: 'wait_timeout', status: 0 });
  const canceled = await client.cancel(id);
  t.is(canceled.id, id);
  t.like(await client.wait(id, { timeoutMs: 30_000 }), { status: 'canceled' });
  const done = await client.submit('/echo', {});
  await client.wait(done.id, { timeoutMs: 30_000 });
  const finished = await t.throwsAsync(client.cancel(done.id), { instanceOf: KaliumClientError });
  t.like(finished, { code: 'job_finished', status: 409 });
});

test.serial('submit passes the idempotency key and the webhook; errors carry the server\'s codes', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const first = await client.submit('/echo', { n: 1 }, { idempotencyKey: 'client-key-1', webhook: { url: receiver.url, events: ['succeeded'] } });
  const second = await client.submit('/echo', { n: 1 }, { idempotencyKey: 'client-key-1' });
  t.is(second.id, first.id);
  const reused = await t.throwsAsync(client.submit('/echo', { n: 2 }, { idempotencyKey: 'client-key-1' }), { instanceOf: KaliumClientError });
  t.like(reused, { code: 'idempotency_key_reused', status: 422 });
  const job = await client.wait(first.id, { timeoutMs: 30_000 });
  t.like(job.webhook, { url: receiver.url, events: ['succeeded'] });
  await receiver.waitFor(1);

  const missing = await t.throwsAsync(client.get('00000000-0000-4000-8000-000000000000'), { instanceOf: KaliumClientError });
  t.like(missing, { code: 'job_not_found', status: 404 });
  const badEvents = await t.throwsAsync(client.submit('/echo', {}, { webhook: { url: receiver.url, events: ['finished' as never] } }), {
    instanceOf: KaliumClientError,
  });
  t.like(badEvents, { code: 'webhook_events_invalid', status: 400 });
  const eventsOfMissing = client.events('00000000-0000-4000-8000-000000000000');
  await t.throwsAsync(eventsOfMissing.next(), { instanceOf: KaliumClientError, message: /No job/ });
});

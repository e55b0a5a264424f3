// Per-job webhooks (SPEC §8) over a real api, a real worker and real receivers.
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { verifyWebhook } from '../../libs/client/index.ts';
import { getJob, post, startStack, submit, waitForStatus, type JobStack, type Json } from '../helpers/job-stack.ts';
import { eventually, startReceiver, type TestReceiver } from '../helpers/webhook-receiver.ts';
import { newSecret } from '../helpers/webhook-runtime.ts';

const secret = newSecret();
let stack: JobStack;

test.before(async () => {
  stack = await startStack({
    env: {
      WEBHOOK_SECRET: secret,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_ATTEMPTS: '3',
      WEBHOOK_BACKOFF_MS: '20',
      WEBHOOK_BACKOFF_MAX_MS: '100',
    },
  });
});
test.after.always(async () => {
  await stack?.close();
});

/** The deliveries a receiver got, parsed, after checking each one's signature. */
function payloads(t: import('ava').ExecutionContext, receiver: TestReceiver): Json[] {
  return receiver.requests.map((request) => {
    t.true(verifyWebhook(secret, request.headers, request.body), 'every delivery is signed');
    return JSON.parse(request.body) as Json;
  });
}

async function webhookOf(id: string, state: string): Promise<Json> {
  return eventually(async () => {
    const { body } = await getJob(stack.api.url, id);
    return body.webhook?.state === state ? (body.webhook as Json) : undefined;
  }, 30_000, `webhook state ${state}`);
}

test.serial('by default the ending is delivered once: the GET /jobs/:id body plus "event"; the job shows the delivery', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const id = await submit(stack.api.url, '/gpu', { ms: 50 }, { 'X-Webhook-Url': receiver.url });
  await waitForStatus(stack.api.url, id, ['succeeded']);
  const webhook = await webhookOf(id, 'delivered');
  t.deepEqual(webhook, { url: receiver.url, events: ['succeeded', 'failed', 'canceled'], state: 'delivered', attempts: 1, last_status: 204 });

  await sleep(300); // progress and started were not asked for: nothing else comes
  const [payload, ...more] = payloads(t, receiver);
  t.is(more.length, 0);
  const { body: job } = await getJob(stack.api.url, id);
  t.is(payload!.event, 'succeeded');
  for (const field of ['id', 'route', 'status', 'progress', 'result', 'error', 'attempts', 'created_at', 'started_at', 'finished_at'] as const) {
    t.deepEqual(payload![field], job[field], field);
  }
  t.deepEqual(Object.keys(payload!).sort(), [...Object.keys(job), 'event'].sort());
  t.like(payload!.webhook, { url: receiver.url, events: ['succeeded', 'failed', 'canceled'] });
});

test.serial('a worker told to stop (SIGTERM) mid-job finishes the job and still queues its webhook before it exits', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const worker = stack.workers.at(-1)!;
  const id = await submit(stack.api.url, '/gpu', { ms: 800 }, { 'X-Webhook-Url': receiver.url });
  await waitForStatus(stack.api.url, id, ['running']);
  worker.child.kill('SIGTERM');
  t.is(await worker.exited, 0);
  t.is((await getJob(stack.api.url, id)).body.status, 'succeeded');
  await stack.startWorker(); // delivers what the stopped worker queued
  await eventually(() => receiver.requests.length > 0);
  t.deepEqual(payloads(t, receiver).map((payload) => [payload.event, payload.id]), [['succeeded', id]]);
});

test.serial('X-Webhook-Events picks the events: started, each progress and the ending', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const id = await submit(stack.api.url, '/gpu', { ms: 50 }, { 'X-Webhook-Url': receiver.url, 'X-Webhook-Events': 'started, progress,succeeded' });
  await waitForStatus(stack.api.url, id, ['succeeded']);
  await receiver.waitFor(4);
  const webhook = await webhookOf(id, 'delivered');
  t.is(webhook.attempts, 4);
  await sleep(300);
  const got = payloads(t, receiver);
  t.is(got.length, 4);
  // Deliveries run concurrently, so their order at the receiver is not guaranteed; their content is.
  const byEvent = (event: string) => got.filter((p) => p.event === event);
  t.like(byEvent('started'), [{ id, status: 'running' }]);
  t.deepEqual(byEvent('progress').map((p) => p.progress).sort((a, b) => a - b), [10, 60]);
  t.like(byEvent('succeeded'), [{ id, status: 'succeeded', progress: 100 }]);
  t.is(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size, 4, 'each event is its own delivery');
});

test.serial('a failed job delivers "failed" once, after its last attempt, with the error', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const id = await submit(stack.api.url, '/fails', {}, { 'X-Webhook-Url': receiver.url });
  await waitForStatus(stack.api.url, id, ['failed']);
  await webhookOf(id, 'delivered');
  await sleep(300);
  const got = payloads(t, receiver);
  t.is(got.length, 1);
  t.like(got[0], { id, event: 'failed', status: 'failed', attempts: 2 });
  t.regex(String(got[0]!.error), /model exploded on attempt 2/);
});

test.serial('canceling a queued job and a running job delivers "canceled"', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const running = await submit(stack.api.url, '/gpu', { ms: 5000 }, { 'X-Webhook-Url': receiver.url });
  await waitForStatus(stack.api.url, running, ['running']);
  const queued = await submit(stack.api.url, '/gpu', { ms: 0 }, { 'X-Webhook-Url': receiver.url });
  const pending = await getJob(stack.api.url, queued);
  t.is(pending.body.status, 'queued');
  t.deepEqual(pending.body.webhook, { url: receiver.url, events: ['succeeded', 'failed', 'canceled'], state: 'pending', attempts: 0, last_status: null });

  t.is((await fetch(`${stack.api.url}/jobs/${queued}`, { method: 'DELETE' })).status, 200);
  t.is((await fetch(`${stack.api.url}/jobs/${running}`, { method: 'DELETE' })).status, 200);
  await receiver.waitFor(2);
  await webhookOf(queued, 'delivered');
  await webhookOf(running, 'delivered');
  const got = payloads(t, receiver);
  t.deepEqual(got.map((p) => [p.id, p.event, p.status]).sort(), [
    [queued, 'canceled', 'canceled'],
    [running, 'canceled', 'canceled'],
  ].sort());
});

test.serial('a receiver that keeps failing: the job shows the webhook failed, its attempts and the last status', async (t) => {
  const receiver = await startReceiver(() => ({ status: 500 }));
  t.teardown(() => receiver.close());
  const id = await submit(stack.api.url, '/echo', { a: 1 }, { 'X-Webhook-Url': receiver.url });
  const webhook = await webhookOf(id, 'failed');
  t.like(webhook, { state: 'failed', attempts: 3, last_status: 500 });
  t.is(receiver.requests.length, 3);
});

test.serial('a job without a webhook shows "webhook": null', async (t) => {
  const id = await submit(stack.api.url, '/echo', { a: 1 });
  const job = await waitForStatus(stack.api.url, id, ['succeeded']);
  t.is(job.webhook, null);
});

test.serial('bad webhook headers are refused with 400 and queue nothing', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  const before = (await (await fetch(`${stack.api.url}/__status__`)).json()) as Json;
  const cases: Array<[Record<string, string>, string]> = [
    [{ 'X-Webhook-Url': receiver.url, 'X-Webhook-Events': 'succeeded,finished' }, 'webhook_events_invalid'],
    [{ 'X-Webhook-Url': receiver.url, 'X-Webhook-Events': ' , ' }, 'webhook_events_invalid'],
    [{ 'X-Webhook-Events': 'succeeded' }, 'webhook_events_invalid'],
    [{ 'X-Webhook-Url': 'not a url' }, 'webhook_url_invalid'],
    [{ 'X-Webhook-Url': 'file:///etc/passwd' }, 'webhook_url_forbidden'],
  ];
  for (const [headers, code] of cases) {
    const res = await post(stack.api.url, '/echo', { a: 1 }, headers);
    t.is(res.status, 400, JSON.stringify(headers));
    t.is(res.body.error.code, code, JSON.stringify(headers));
    t.regex(res.body.error.message, /\w/);
  }
  const unknown = await post(stack.api.url, '/echo', {}, { 'X-Webhook-Url': receiver.url, 'X-Webhook-Events': 'succeeded,finished' });
  t.regex(unknown.body.error.message, /finished/);
  const after = (await (await fetch(`${stack.api.url}/__status__`)).json()) as Json;
  const total = (counts: Json) => Object.values(counts.queue as Record<string, number>).reduce((a, b) => a + b, 0);
  t.is(total(after), total(before));
  await sleep(200);
  t.is(receiver.requests.length, 0);
});

test.serial('without WEBHOOK_ALLOW_PRIVATE a private X-Webhook-Url is 400 webhook_url_forbidden', async (t) => {
  const main = stack.api;
  const strict = await stack.startApi({ WEBHOOK_ALLOW_PRIVATE: 'false' });
  stack.api = main;
  const receiver = await startReceiver();
  t.teardown(async () => {
    await receiver.close();
    await strict.kill();
  });
  for (const url of [receiver.url, 'http://localhost:9/hook', 'http://169.254.169.254/latest/meta-data/']) {
    const res = await post(strict.url, '/echo', {}, { 'X-Webhook-Url': url });
    t.is(res.status, 400, url);
    t.is(res.body.error.code, 'webhook_url_forbidden', url);
  }
});

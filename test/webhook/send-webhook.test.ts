import test from 'ava';
import { sendWebhook } from 'kalium';
import { redisForFile } from '../helpers/redis-for-file.ts';
import { eventually, startReceiver } from '../helpers/webhook-receiver.ts';
import { webhookRuntime } from '../helpers/webhook-runtime.ts';

const redis = redisForFile();

// Serial: these tests are about which runtime (if any) is open in the process.
test.serial('outside a kalium process sendWebhook rejects with an error that says why', async (t) => {
  const error = await t.throwsAsync(sendWebhook('http://127.0.0.1:9/hook', { a: 1 }));
  t.regex(error!.message, /needs a running kalium process/);
});

test.serial('sendWebhook enqueues a delivery through the process\'s runtime and resolves to its id', async (t) => {
  const receiver = await startReceiver();
  const runtime = await webhookRuntime(redis.url);
  t.teardown(() => receiver.close());
  const id = await sendWebhook(receiver.url, { hello: 'world' });
  t.regex(id, /^msg_[0-9a-f]{32}$/);
  const [request] = await receiver.waitFor(1);
  t.is(request!.headers['webhook-id'], id);
  t.deepEqual(JSON.parse(request!.body), { hello: 'world' });
  await runtime.close();
  // Closed: the process has no runtime any more.
  await t.throwsAsync(sendWebhook(receiver.url, {}), { message: /needs a running kalium process/ });
});

test.serial('{ wait: true } resolves with the first attempt\'s outcome', async (t) => {
  const ok = await startReceiver();
  const flaky = await startReceiver((n) => ({ status: n === 0 ? 500 : 204 }));
  const down = await startReceiver(() => ({ status: 500 }));
  const runtime = await webhookRuntime(redis.url, { WEBHOOK_BACKOFF_MS: '300', WEBHOOK_BACKOFF_MAX_MS: '300' });
  t.teardown(() => Promise.all([runtime.close(), ok.close(), flaky.close(), down.close()]));

  const delivered = await sendWebhook(ok.url, { a: 1 }, { wait: true });
  t.like(delivered, { state: 'delivered', attempts: 1, status: 204, error: null });
  t.is(ok.requests[0]!.headers['webhook-id'], delivered.id);

  const retrying = await sendWebhook(flaky.url, { a: 1 }, { wait: true, attempts: 3 });
  t.like(retrying, { state: 'pending', attempts: 1, status: 500, error: 'HTTP 500' });
  t.is(flaky.requests.length, 1, 'it resolved after the first attempt, before the retry');
  await flaky.waitFor(2);
  await eventually(async () => (await runtime.webhooks.deliveryStatus(retrying.id))?.state === 'delivered');

  const failed = await sendWebhook(down.url, { a: 1 }, { wait: true, attempts: 1 });
  t.like(failed, { state: 'failed', attempts: 1, status: 500 });
});

test.serial('{ wait: true } with no webhook worker running gives up after waitTimeoutMs; the delivery stays queued', async (t) => {
  const receiver = await startReceiver();
  const runtime = await webhookRuntime(redis.url, {}, { worker: false, app: 'later' });
  t.teardown(() => Promise.all([runtime.close(), receiver.close()]));
  const started = Date.now();
  const result = await sendWebhook(receiver.url, { a: 1 }, { wait: true, waitTimeoutMs: 500 });
  t.true(Date.now() - started >= 450);
  t.like(result, { state: 'pending', attempts: 0, status: null });
  // A worker that starts later delivers it.
  const worker = await webhookRuntime(redis.url, {}, { app: 'later' });
  t.teardown(() => worker.close());
  const [request] = await receiver.waitFor(1);
  t.is(request!.headers['webhook-id'], result.id);
});

test.serial('bad payloads and options are refused before anything is enqueued', async (t) => {
  const receiver = await startReceiver();
  const runtime = await webhookRuntime(redis.url);
  t.teardown(() => Promise.all([runtime.close(), receiver.close()]));
  await t.throwsAsync(sendWebhook(receiver.url, undefined), { instanceOf: TypeError, message: /JSON-serializable/ });
  await t.throwsAsync(sendWebhook(receiver.url, { n: 1n }), { instanceOf: TypeError });
  await t.throwsAsync(sendWebhook(receiver.url, {}, { attempts: 0 }), { instanceOf: TypeError, message: /attempts must be a whole number from 1 to 100, got 0/ });
  await t.throwsAsync(sendWebhook(receiver.url, {}, { timeoutMs: 1.5 }), { instanceOf: TypeError, message: /timeoutMs/ });
  await new Promise((r) => setTimeout(r, 300));
  t.is(receiver.requests.length, 0);
});

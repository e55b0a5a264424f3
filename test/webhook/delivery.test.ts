import { createHmac, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook } from '../../libs/client/index.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';
import { eventually, startReceiver } from '../helpers/webhook-receiver.ts';
import { newSecret, webhookRuntime } from '../helpers/webhook-runtime.ts';

const redis = redisForFile();

/** The Standard Webhooks signature check written out by hand, from the spec, sharing no code with the sender. */
function specSignatureMatches(secret: string, headers: Record<string, unknown>, body: string): boolean {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest();
  return String(headers['webhook-signature'])
    .split(' ')
    .some((entry) => {
      const [version, signature] = entry.split(',');
      const given = Buffer.from(signature ?? '', 'base64');
      return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
    });
}

test('a signed delivery verifies with verifyWebhook, the standardwebhooks library and a hand-written HMAC check', async (t) => {
  const secret = newSecret();
  const receiver = await startReceiver();
  const runtime = await webhookRuntime(redis.url, { WEBHOOK_SECRET: secret });
  t.teardown(() => Promise.all([runtime.close(), receiver.close()]));

  const payload = { text: 'héllo ✓', n: 1 };
  const id = await runtime.webhooks.send(receiver.url, payload);
  const [request] = await receiver.waitFor(1);
  t.is(request!.headers['webhook-id'], id);
  t.is(request!.headers['content-type'], 'application/json');
  t.regex(String(request!.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/);
  t.true(Math.abs(Number(request!.headers['webhook-timestamp']) - Date.now() / 1000) < 60);
  t.deepEqual(JSON.parse(request!.body), payload);

  t.true(verifyWebhook(secret, request!.headers, request!.body));
  t.notThrows(() => new Webhook(secret).verify(request!.body, request!.headers as Record<string, string>));
  t.true(specSignatureMatches(secret, request!.headers, request!.body));
  // And the checks can fail: another secret, or a body changed by one character.
  t.false(verifyWebhook(newSecret(), request!.headers, request!.body));
  t.false(specSignatureMatches(secret, request!.headers, request!.body.replace('1', '2')));
  t.false(verifyWebhook(secret, request!.headers, request!.body.replace('1', '2')));
});

test('without WEBHOOK_SECRET deliveries carry an id and a timestamp but no signature', async (t) => {
  const receiver = await startReceiver();
  const runtime = await webhookRuntime(redis.url);
  t.teardown(() => Promise.all([runtime.close(), receiver.close()]));
  const id = await runtime.webhooks.send(receiver.url, { ok: true });
  const [request] = await receiver.waitFor(1);
  t.is(request!.headers['webhook-id'], id);
  t.truthy(request!.headers['webhook-timestamp']);
  t.is(request!.headers['webhook-signature'], undefined);
});

test('a receiver failing twice then succeeding gets one accepted delivery, every attempt with the same id', async (t) => {
  const secret = newSecret();
  const receiver = await startReceiver((n) => ({ status: n < 2 ? 500 : 204 }));
  const runtime = await webhookRuntime(redis.url, { WEBHOOK_SECRET: secret });
  t.teardown(() => Promise.all([runtime.close(), receiver.close()]));

  const id = await runtime.webhooks.send(receiver.url, { job: 'x' }, { attempts: 5 });
  const requests = await receiver.waitFor(3);
  const status = await eventually(async () => {
    const s = await runtime.webhooks.deliveryStatus(id);
    return s?.state === 'delivered' ? s : undefined;
  });
  await sleep(500); // nothing more may come once it was accepted
  t.is(receiver.requests.length, 3);
  t.deepEqual(requests.map((r) => r.status), [500, 500, 204]);
  t.deepEqual(new Set(requests.map((r) => r.headers['webhook-id'])), new Set([id]));
  t.is(requests.filter((r) => r.status >= 200 && r.status < 300).length, 1);
  // Each attempt is signed afresh (its own timestamp), and each verifies.
  for (const request of requests) t.true(verifyWebhook(secret, request.headers, request.body));
  t.deepEqual(status, { state: 'delivered', attempts: 3, lastStatus: 204, lastError: null, target: { url: receiver.url } });
  const counted = await runtime.metrics.webhookDeliveries.get();
  const by = (outcome: string) => counted.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  t.deepEqual([by('retry'), by('delivered'), by('failed')], [2, 1, 0], 'kalium_webhook_deliveries_total by outcome');
});

test('410 Gone stops the retries at once', async (t) => {
  const receiver = await startReceiver(() => ({ status: 410 }));
  const runtime = await webhookRuntime(redis.url);
  t.teardown(() => Promise.all([runtime.close(), receiver.close()]));
  const id = await runtime.webhooks.send(receiver.url, { a: 1 }, { attempts: 5 });
  await receiver.waitFor(1);
  const status = await eventually(async () => {
    const s = await runtime.webhooks.deliveryStatus(id);
    return s?.state === 'failed' ? s : undefined;
  });
  await sleep(1000); // four retries at 20-200 ms would have come by now
  t.is(receiver.requests.length, 1);
  t.is(status.attempts, 1);
  t.is(status.lastStatus, 410);
});

test('a redirect is not followed and counts as a failed attempt', async (t) => {
  const elsewhere = await startReceiver();
  const receiver = await startReceiver(() => ({ status: 302, headers: { location: elsewhere.url } }));
  const runtime = await webhookRuntime(redis.url);
  t.teardown(() => Promise.all([runtime.close(), receiver.close(), elsewhere.close()]));
  const id = await runtime.webhooks.send(receiver.url, { a: 1 }, { attempts: 2 });
  const status = await eventually(async () => {
    const s = await runtime.webhooks.deliveryStatus(id);
    return s?.state === 'failed' ? s : undefined;
  });
  t.is(receiver.requests.length, 2);
  t.is(elsewhere.requests.length, 0);
  t.is(status.lastStatus, 302);
  t.regex(status.lastError ?? '', /redirect/);
});

for (const code of [429, 503]) {
  test(`${code} with Retry-After: the next attempt waits at least that long`, async (t) => {
    const receiver = await startReceiver((n) => (n === 0 ? { status: code, headers: { 'retry-after': '2' } } : { status: 204 }));
    const runtime = await webhookRuntime(redis.url); // backoff 20-200 ms: only Retry-After can make it wait 2 s
    t.teardown(() => Promise.all([runtime.close(), receiver.close()]));
    await runtime.webhooks.send(receiver.url, { a: 1 }, { attempts: 3 });
    const [first, second] = await receiver.waitFor(2);
    t.true(second!.at - first!.at >= 2000, `retried after ${second!.at - first!.at} ms`);
    t.is(second!.headers['webhook-id'], first!.headers['webhook-id']);
  });
}

test('an attempt without an answer times out and is retried', async (t) => {
  const receiver = await startReceiver((n) => (n === 0 ? undefined : { status: 204 }));
  const runtime = await webhookRuntime(redis.url);
  t.teardown(() => Promise.all([runtime.close(), receiver.close()]));
  const id = await runtime.webhooks.send(receiver.url, { a: 1 }, { attempts: 3, timeoutMs: 300 });
  await receiver.waitFor(2);
  const status = await eventually(async () => {
    const s = await runtime.webhooks.deliveryStatus(id);
    return s?.state === 'delivered' ? s : undefined;
  });
  t.is(status.attempts, 2);
});

test('retries give up after the schedule\'s attempts: the delivery is failed', async (t) => {
  const receiver = await startReceiver(() => ({ status: 500 }));
  const runtime = await webhookRuntime(redis.url);
  t.teardown(() => Promise.all([runtime.close(), receiver.close()]));
  const id = await runtime.webhooks.send(receiver.url, { a: 1 }, { attempts: 3 });
  const status = await eventually(async () => {
    const s = await runtime.webhooks.deliveryStatus(id);
    return s?.state === 'failed' ? s : undefined;
  });
  await sleep(800);
  t.is(receiver.requests.length, 3);
  t.deepEqual(status, { state: 'failed', attempts: 3, lastStatus: 500, lastError: 'HTTP 500', target: { url: receiver.url } });
});

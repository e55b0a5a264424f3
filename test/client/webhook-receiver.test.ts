import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { Webhook } from 'standardwebhooks';
import { webhookReceiver, type ReceivedWebhook, type WebhookReceiverOptions } from '../../libs/client/index.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { eventually } from '../helpers/webhook-receiver.ts';
import { newSecret, webhookRuntime } from '../helpers/webhook-runtime.ts';

/** The receiver under test on a real server, with what it handed on. */
async function serve(options: Partial<WebhookReceiverOptions> & { secret?: string }) {
  const delivered: ReceivedWebhook[] = [];
  const duplicates: string[] = [];
  const rejected: number[] = [];
  const server = createServer(
    webhookReceiver({
      onDelivery: (delivery) => void delivered.push(delivery),
      onDuplicate: (id) => duplicates.push(id),
      onRejected: (status) => rejected.push(status),
      ...options,
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return { url, delivered, duplicates, rejected, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function signedPost(url: string, secret: string, id: string, body: string, at = new Date()) {
  return fetch(url, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, body),
    },
  });
}

test('a delivery is handed on once per webhook-id; a repeat is answered 204 and not handed on again', async (t) => {
  const secret = newSecret();
  const receiver = await serve({ secret });
  t.teardown(receiver.close);
  const body = JSON.stringify({ id: 'job-1', event: 'succeeded' });
  t.is((await signedPost(receiver.url, secret, 'msg_a', body)).status, 204);
  t.is((await signedPost(receiver.url, secret, 'msg_a', body)).status, 204);
  t.is((await signedPost(receiver.url, secret, 'msg_b', body)).status, 204);
  t.deepEqual(receiver.delivered.map((d) => [d.id, d.payload, d.verified]), [
    ['msg_a', { id: 'job-1', event: 'succeeded' }, true],
    ['msg_b', { id: 'job-1', event: 'succeeded' }, true],
  ]);
  t.deepEqual(receiver.duplicates, ['msg_a']);
});

test('bad signatures get 401, non-JSON bodies 400, other methods 405, and none is handed on', async (t) => {
  const secret = newSecret();
  const receiver = await serve({ secret });
  t.teardown(receiver.close);
  const body = '{"a":1}';
  t.is((await signedPost(receiver.url, newSecret(), 'msg_1', body)).status, 401);
  t.is((await fetch(receiver.url, { method: 'POST', body, headers: { 'webhook-id': 'msg_2' } })).status, 401);
  t.is((await signedPost(receiver.url, secret, 'msg_3', body, new Date(Date.now() - 10 * 60_000))).status, 401);
  t.is((await signedPost(receiver.url, secret, 'msg_4', 'not json')).status, 400);
  t.is((await fetch(receiver.url)).status, 405);
  t.deepEqual(receiver.delivered, []);
  t.deepEqual(receiver.rejected, [401, 401, 401, 400, 405]);
});

test('a delivery whose handler throws is answered 500 and accepted when it comes again', async (t) => {
  const secret = newSecret();
  let calls = 0;
  const receiver = await serve({
    secret,
    onDelivery: () => {
      calls += 1;
      if (calls === 1) throw new Error('database down');
    },
  });
  t.teardown(receiver.close);
  t.is((await signedPost(receiver.url, secret, 'msg_x', '{}')).status, 500);
  t.is((await signedPost(receiver.url, secret, 'msg_x', '{}')).status, 204);
  t.is(calls, 2);
  t.deepEqual(receiver.duplicates, []);
});

test('it receives and verifies what kalium sends', async (t) => {
  const redis: RedisServer = await startRedis();
  const secret = newSecret();
  const receiver = await serve({ secret });
  const runtime = await webhookRuntime(redis.url, { WEBHOOK_SECRET: secret });
  t.teardown(async () => {
    await runtime.close();
    await receiver.close();
    await redis.stop();
  });
  const id = await runtime.webhooks.send(receiver.url, { result: [1, 2, 3] });
  await eventually(() => receiver.delivered.length === 1);
  t.like(receiver.delivered[0], { id, payload: { result: [1, 2, 3] }, verified: true });
  t.deepEqual(receiver.rejected, []);
});

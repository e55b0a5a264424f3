import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { Queue } from 'bullmq';
import { KaliumError } from '../../libs/kalium/errors/kalium-error.ts';
import { isForbiddenAddress } from '../../libs/kalium/webhook/address-policy.ts';
import { WEBHOOK_QUEUE } from '../../libs/kalium/webhook/webhook-host.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';
import { eventually, startReceiver } from '../helpers/webhook-receiver.ts';
import { webhookRuntime } from '../helpers/webhook-runtime.ts';

const redis = redisForFile();

test('private, loopback, link-local and metadata addresses are forbidden; public ones are not', (t) => {
  for (const address of [
    '127.0.0.1', '127.9.9.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254',
    '100.100.100.200', '0.0.0.0', '::', '::1', 'fe80::1', 'fd00:ec2::254', 'fc00::1', '::ffff:127.0.0.1',
    '::ffff:10.0.0.1', '::ffff:169.254.169.254', '64:ff9b::a00:1', '224.0.0.1', '255.255.255.255',
  ]) {
    t.true(isForbiddenAddress(address), address);
  }
  for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '192.169.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) {
    t.false(isForbiddenAddress(address), address);
  }
});

test('by default a private target is refused at submit time with 400 webhook_url_forbidden, and nothing is enqueued', async (t) => {
  const receiver = await startReceiver();
  const runtime = await webhookRuntime(redis.url, { WEBHOOK_ALLOW_PRIVATE: 'false' });
  const queue = new Queue(WEBHOOK_QUEUE, { connection: { url: redis.url }, prefix: runtime.keys.prefix });
  t.teardown(() => Promise.all([runtime.close(), receiver.close(), queue.close()]));
  const port = new URL(receiver.url).port;
  for (const url of [
    receiver.url,
    `http://localhost:${port}/hook`,
    `http://[::1]:${port}/hook`,
    `http://[::ffff:127.0.0.1]:${port}/hook`,
    `http://2130706433:${port}/hook`, // 127.0.0.1 spelled as a number
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/hook',
  ]) {
    const error = await t.throwsAsync(runtime.webhooks.send(url, { a: 1 }), { instanceOf: KaliumError }, url);
    t.is(error?.code, 'webhook_url_forbidden', url);
    t.is(error?.status, 400, url);
  }
  const scheme = await t.throwsAsync(runtime.webhooks.send('ftp://example.com/hook', {}), { instanceOf: KaliumError });
  t.is(scheme?.code, 'webhook_url_forbidden');
  for (const url of ['not a url', '/relative/hook', '', `http://x/${'a'.repeat(3000)}`]) {
    const error = await t.throwsAsync(runtime.webhooks.send(url, {}), { instanceOf: KaliumError }, url);
    t.is(error?.code, 'webhook_url_invalid', url);
    t.is(error?.status, 400);
  }
  const counts = await queue.getJobCounts();
  t.is(Object.values(counts).reduce((a, b) => a + b, 0), 0);
  await sleep(300);
  t.is(receiver.requests.length, 0);
});

test('the check is made again when the attempt connects, after DNS: a private target enqueued elsewhere is refused and not retried', async (t) => {
  const receiver = await startReceiver();
  // One process allowed private targets when it enqueued; the delivering one does not.
  const sender = await webhookRuntime(redis.url, { WEBHOOK_ALLOW_PRIVATE: 'true' }, { worker: false, app: 'guarded' });
  const deliverer = await webhookRuntime(redis.url, { WEBHOOK_ALLOW_PRIVATE: 'false' }, { app: 'guarded' });
  t.teardown(() => Promise.all([sender.close(), deliverer.close(), receiver.close()]));
  const port = new URL(receiver.url).port;
  for (const url of [receiver.url, `http://localhost:${port}/hook`]) {
    const id = await sender.webhooks.send(url, { a: 1 }, { attempts: 4 });
    const status = await eventually(async () => {
      const s = await deliverer.webhooks.deliveryStatus(id);
      return s?.state === 'failed' ? s : undefined;
    }, 30_000, `refusal of ${url}`);
    t.is(status.attempts, 1, url);
    t.is(status.lastStatus, null);
    t.regex(status.lastError ?? '', /private, loopback or link-local/);
  }
  await sleep(500);
  t.is(receiver.requests.length, 0);
});

test('WEBHOOK_ALLOW_PRIVATE=true lets deliveries reach private targets, by address and by name', async (t) => {
  const receiver = await startReceiver();
  const runtime = await webhookRuntime(redis.url, { WEBHOOK_ALLOW_PRIVATE: 'true' });
  t.teardown(() => Promise.all([runtime.close(), receiver.close()]));
  const port = new URL(receiver.url).port;
  await runtime.webhooks.send(receiver.url, { by: 'address' });
  await runtime.webhooks.send(`http://localhost:${port}/hook`, { by: 'name' });
  const requests = await receiver.waitFor(2);
  t.deepEqual(requests.map((r) => JSON.parse(r.body).by).sort(), ['address', 'name']);
});

import { fileURLToPath } from 'node:url';
import test from 'ava';
import { startKalium } from '../helpers/kalium-process.ts';
import { getJob, submit, waitForStatus } from '../helpers/job-stack.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';
import { waitReady } from '../helpers/wait-ready.ts';

const APP = fileURLToPath(new URL('../fixtures/apps/webhook-app.ts', import.meta.url));

test('deliveries run beside the GPU worker\'s single slot: a gpu job can wait for its own webhook\'s delivery', async (t) => {
  const redis = await startRedis();
  const receiver = await startReceiver();
  const env = { REDIS_URL: redis.url, WEBHOOK_ALLOW_PRIVATE: 'true' };
  const api = await startKalium('api', APP, env, { timeoutMs: 60_000 });
  const worker = await startKalium('worker', APP, env, { timeoutMs: 60_000 });
  t.teardown(async () => {
    await Promise.all([api.kill('SIGKILL'), worker.kill('SIGKILL')]);
    await receiver.close();
    await redis.stop();
  });
  await waitReady(api.url, 60_000);
  const id = await submit(api.url, '/notify-and-wait', { url: receiver.url, payload: { from: 'job' } });
  const job = await waitForStatus(api.url, id, ['succeeded'], 60_000);
  t.like(job.result, { state: 'delivered', attempts: 1, status: 204 });
  t.is(receiver.requests.length, 1);
  t.is(receiver.requests[0]!.headers['webhook-id'], job.result.id);
  t.is((await getJob(api.url, id)).body.webhook, null, 'sendWebhook deliveries are not the job\'s own webhook');
});

import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { Queue } from 'bullmq';
import { startKalium } from '../helpers/kalium-process.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';
import { eventually, startReceiver } from '../helpers/webhook-receiver.ts';

const APP = fileURLToPath(new URL('../fixtures/apps/webhook-app.ts', import.meta.url));

const redis = redisForFile();

test('a delivery survives its worker being killed (kill -9) mid-schedule: the retry comes from the restarted worker', async (t) => {
  const receiver = await startReceiver((n) => ({ status: n === 0 ? 500 : 204 }));
  t.teardown(() => receiver.close());
  const env = {
    REDIS_URL: redis.url,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_ATTEMPTS: '5',
    // The first retry comes 2-4 s after the first attempt: time to kill the worker in between.
    WEBHOOK_BACKOFF_MS: '4000',
    WEBHOOK_BACKOFF_MAX_MS: '4000',
  };
  const api = await startKalium('api', APP, env);
  let worker = await startKalium('worker', APP, env);
  const queue = new Queue('webhooks', { connection: { url: redis.url }, prefix: '{kalium:webhooks}' });
  t.teardown(async () => {
    await queue.close();
    await Promise.all([api.kill(), worker.kill()]);
  });

  const response = await fetch(`${api.url}/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: receiver.url, payload: { result: 42 } }),
  });
  t.is(response.status, 200);
  const { id } = (await response.json()) as { id: string };

  await receiver.waitFor(1);
  // Kill it once the failed attempt is recorded and the retry scheduled (the job waits in Redis).
  await eventually(async () => (await queue.getJobState(id)) === 'delayed', 30_000, 'the retry to be scheduled');
  t.is(await worker.kill('SIGKILL'), 'SIGKILL');

  await sleep(5000); // past the retry's due time: nobody is there to make it
  t.is(receiver.requests.length, 1);

  worker = await startKalium('worker', APP, env);
  const requests = await receiver.waitFor(2);
  await eventually(async () => (await queue.getJobState(id)) === 'completed', 30_000, 'the delivery to complete');
  t.deepEqual(requests.map((r) => r.status), [500, 204]);
  t.deepEqual(requests.map((r) => r.headers['webhook-id']), [id, id]);
  t.deepEqual(JSON.parse(requests[1]!.body), { result: 42 });
  await sleep(300);
  t.is(receiver.requests.length, 2);
});

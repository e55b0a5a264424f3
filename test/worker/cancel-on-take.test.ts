// SPEC §17: a canceled queued job never runs, because the worker knows of the cancel when it takes the
// job, not later. The cancel's pub/sub message and the reply handing the job over travel on two TCP
// connections with no order between them: here the worker's subscriber connection is made slow, and
// the job is taken between the api's cancel and its removal of the job from the queue.
import test from 'ava';
import { startDelayingProxy } from '../helpers/delaying-proxy.ts';
import { startKalium, type KaliumProcess } from '../helpers/kalium-process.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { JOBS_APP, PREFIX, submit, until, waitForStatus } from '../helpers/job-stack.ts';
import { waitReady } from '../helpers/wait-ready.ts';

test('a job canceled while queued and taken before the api removed it never runs, though the cancel’s message is late', async (t) => {
  const redis = await startRedis();
  const apiPath = await startDelayingProxy(redis.port);
  const workerPath = await startDelayingProxy(redis.port);
  const processes: KaliumProcess[] = [];
  t.teardown(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await Promise.all([apiPath.close(), workerPath.close()]);
    await redis.stop();
  });
  const env = { LOG_LEVEL: 'debug' };
  const api = await startKalium('api', JOBS_APP, { ...env, REDIS_URL: apiPath.url }, { timeoutMs: 60_000 });
  processes.push(api);
  await waitReady(api.url, 60_000);
  const worker = await startKalium('worker', JOBS_APP, { ...env, REDIS_URL: workerPath.url }, { timeoutMs: 60_000 });
  processes.push(worker);
  const client = redis.client();

  const first = await submit(api.url, '/held', {});
  await until(async () => (await client.get(`runs:${first}`)) === '1', 30_000, 'the first job holds the worker');
  const second = await submit(api.url, '/counted', { ms: 0 });
  // From now on the cancel reaches the worker by pub/sub 3 s late, and each api round trip takes 0.6 s
  // (under the api's 1 s command deadline): the api removes the job well after its cancel is in Redis.
  workerPath.delaySubscribers(3000);
  apiPath.delayAll(600);
  const canceling = fetch(`${api.url}/jobs/${second}`, { method: 'DELETE' });
  await until(async () => (await client.exists(`${PREFIX}:canceled:${second}`)) === 1, 20_000, 'the cancel is in Redis');
  await client.set(`release:${first}`, '1'); // the worker finishes the first job and takes the second at once

  const answer = await canceling;
  t.is(answer.status, 200);
  t.is(((await answer.json()) as { status: string }).status, 'canceled');
  const ended = await worker.waitForLog((line) => line.msg === 'job finished' && line.jobId === second, 20_000);
  t.is(ended.status, 'canceled', 'the worker took it, knowing it was canceled');
  t.is(await client.get(`runs:${second}`), null, 'its handler never ran');
  const body = await waitForStatus(api.url, second, ['canceled']);
  t.is(body.started_at, null);
  t.is((await waitForStatus(api.url, first, ['succeeded'])).result.run, 1);
});

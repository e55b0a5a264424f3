// The seams other parts plug into (job hooks: accept, webhook, onEvent) and the worker's metrics, with the
// api and the worker in this process (hooks are code, not configuration) on a real Redis.
import test from 'ava';
import { loadAppModule } from '../../libs/kalium/app/kalium.ts';
import { loadConfig } from '../../libs/kalium/config/config.ts';
import { KaliumError } from '../../libs/kalium/errors/kalium-error.ts';
import { startApiServer, type ApiServer } from '../../libs/kalium/http/api-server.ts';
import { jobsApiPart } from '../../libs/kalium/http/jobs-part.ts';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import type { JobBody } from '../../libs/kalium/queue/job-body.ts';
import type { JobEvent, JobHooks } from '../../libs/kalium/queue/job-hooks.ts';
import { Runtime } from '../../libs/kalium/runtime/runtime.ts';
import { startJobWorker } from '../../libs/kalium/worker/job-worker.ts';
import { getJob, post, submit, until, waitForStatus } from '../helpers/job-stack.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

const events: Array<{ event: JobEvent; job: JobBody; extra: Record<string, unknown> | undefined; side: string }> = [];
let redis: RedisServer;
let api: ApiServer;
let worker: Runtime;

const hooks = (side: string): JobHooks => ({
  accept(request) {
    if (request.headers['x-tag'] === 'refuse') throw new KaliumError('bad_tag', 400, 'This tag is refused.');
    return request.headers['x-tag'] ? { tag: request.headers['x-tag'] } : undefined;
  },
  async webhook(jobId) {
    return { delivered: jobId.length };
  },
  onEvent(event, job, extra) {
    events.push({ event, job, extra, side });
    if (event === 'started' && extra?.tag === 'throw') throw new Error('a hook failed');
  },
});

test.before(async () => {
  redis = await startRedis();
  const app = await loadAppModule(new URL('../fixtures/apps/jobs-app.ts', import.meta.url).href);
  const config = loadConfig({ REDIS_URL: redis.url, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent' });
  const runtime = (role: string) => new Runtime(app, config, createLogger({ level: 'silent', name: role }), { processMetrics: false });
  const apiRuntime = runtime('api');
  api = await startApiServer(apiRuntime, [jobsApiPart(apiRuntime, [hooks('api')])]);
  await apiRuntime.initialize();
  worker = runtime('worker');
  await worker.initialize();
  await startJobWorker(worker, [hooks('worker')]);
});
test.after.always(async () => {
  await api?.close();
  await worker?.close();
  await redis?.stop();
});

test.serial('hooks: accept keeps data with the job, webhook fills the body’s field, onEvent hears the job’s life', async (t) => {
  const id = await submit(api.url, '/gpu', { ms: 50 }, { 'x-tag': 'blue' });
  const done = await waitForStatus(api.url, id, ['succeeded']);
  t.deepEqual(done.webhook, { delivered: 36 });
  await until(() => events.some((e) => e.job.id === id && e.event === 'succeeded'), 5000, 'succeeded heard');
  const mine = events.filter((e) => e.job.id === id);
  t.deepEqual(mine.map((e) => e.event), ['started', 'progress', 'progress', 'succeeded']);
  t.true(mine.every((e) => e.side === 'worker' && e.extra?.tag === 'blue'));
  t.like(mine.at(-1)!.job, { id, route: '/gpu', status: 'succeeded', progress: 100 });
  t.is(typeof (mine.at(-1)!.job.result as { pid: number }).pid, 'number');
});

test.serial('hooks: a refusing accept answers its 4xx and queues nothing; a throwing onEvent does not fail the job', async (t) => {
  const refused = await post(api.url, '/echo', {}, { 'x-tag': 'refuse' });
  t.is(refused.status, 400);
  t.is(refused.body.error.code, 'bad_tag');
  const id = await submit(api.url, '/echo', {}, { 'x-tag': 'throw' });
  t.is((await waitForStatus(api.url, id, ['succeeded'])).status, 'succeeded');
});

test.serial('hooks: a job canceled while queued is announced by the api; a failed one by the worker, once, at the end', async (t) => {
  await redis.client().set('{kalium:jobsfixture}:gpu:default', 'held', 'PX', 60_000); // the worker waits on a first job
  const blocker = await submit(api.url, '/gpu', { ms: 0 });
  await waitForStatus(api.url, blocker, ['running']);
  const queued = await submit(api.url, '/echo', {}, { 'x-tag': 'c' });
  const res = await fetch(`${api.url}/jobs/${queued}`, { method: 'DELETE' });
  t.is(res.status, 200);
  t.true(events.some((e) => e.job.id === queued && e.event === 'canceled' && e.side === 'api' && e.extra?.tag === 'c'));
  await redis.client().del('{kalium:jobsfixture}:gpu:default');
  await waitForStatus(api.url, blocker, ['succeeded']);

  const failed = await submit(api.url, '/fails');
  await waitForStatus(api.url, failed, ['failed']);
  await until(() => events.some((e) => e.job.id === failed && e.event === 'failed'), 5000, 'failed heard');
  const ends = events.filter((e) => e.job.id === failed && e.event === 'failed');
  t.is(ends.length, 1, 'not once per attempt');
  t.is(ends[0]!.job.error, 'model exploded on attempt 2 at /home/model/weights.bin');
  t.is((await getJob(api.url, failed)).body.attempts, 2);
});

test.serial('the worker records jobs, their durations and its GPU lease waits and holds', async (t) => {
  const text = (await worker.metrics.render()).body;
  t.regex(text, /kalium_jobs_total\{route="\/fails",outcome="failed"\} 1/);
  t.regex(text, /kalium_jobs_total\{route="\/gpu",outcome="succeeded"\} 2/);
  t.regex(text, /kalium_job_duration_seconds_count\{route="\/gpu",outcome="succeeded"\} 2/);
  t.regex(text, /kalium_gpu_lease_wait_seconds_count\{role="worker"\} [1-9]/);
  t.regex(text, /kalium_gpu_lease_hold_seconds_count\{role="worker"\} [1-9]/);
});

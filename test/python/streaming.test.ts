// SPEC §15 + §14: a Python generator in a background route streams through kalium's job output.
import test from 'ava';
import { resolve } from 'node:path';
import { startKalium, type KaliumProcess } from '../helpers/kalium-process.ts';
import { post, readEvents, submit, waitForStatus, type Json } from '../helpers/job-stack.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

const APP = resolve('test/fixtures/python/streaming_app.py');
let redis: RedisServer;
let api: KaliumProcess;
let worker: KaliumProcess;

test.before(async () => {
  redis = await startRedis();
  const env = { REDIS_URL: redis.url };
  [api, worker] = await Promise.all([startKalium('api', APP, env), startKalium('worker', APP, env)]);
});
test.after.always(async () => {
  await Promise.all([api?.kill(), worker?.kill()]);
  await redis?.stop();
});

const outputs = (events: Array<{ event: string; data: Json }>) => events.filter((e) => e.event === 'output').map((e) => e.data);

test.serial('each value a Python generator yields is an output event, in order; the chunks are the result', async (t) => {
  const id = await submit(api.url, '/tokens', { n: 8, delay_ms: 20 });
  const { events } = await readEvents(api.url, id);
  const chunks = outputs(events);
  t.deepEqual(chunks, Array.from({ length: 8 }, (_, i) => ({ index: i, chunk: { i, text: `token-${i}` } })));
  t.is(events.at(-1)!.event, 'succeeded');
  t.deepEqual(events.at(-1)!.data.result, chunks.map((c) => c.chunk));
});

test.serial('a generator’s return value is the job’s result, with its chunks as the output', async (t) => {
  const done = await waitForStatus(api.url, await submit(api.url, '/summary'), ['succeeded']);
  t.deepEqual(done.result, { joined: 'ab', attempt: 1 });
  t.deepEqual(done.output, ['a', 'b']);
});

test.serial('past max_output_bytes the job fails and the generator is closed in Python (its finally runs)', async (t) => {
  const failed = await waitForStatus(api.url, await submit(api.url, '/endless'), ['failed']);
  t.regex(String(failed.error), /cap of 2000 bytes/);
  await worker.waitForLog((line) => line.msg === 'endless generator closed');
});

test.serial('DELETE of a streaming job closes the Python generator, which sees job.aborted', async (t) => {
  const id = await submit(api.url, '/slow-endless');
  await waitForStatus(api.url, id, ['running']);
  const canceled = await fetch(`${api.url}/jobs/${id}`, { method: 'DELETE' });
  t.is(canceled.status, 200);
  await worker.waitForLog((line) => line.msg === 'slow generator closed, aborted=True');
  t.like(await waitForStatus(api.url, id, ['canceled']), { status: 'canceled' });
});

test.serial('a yield JSON cannot carry fails the job naming the type; a sync handler that yields is a 500', async (t) => {
  const failed = await waitForStatus(api.url, await submit(api.url, '/bad-chunk'), ['failed']);
  t.regex(String(failed.error), /yielded a set, which is not JSON-serialisable/);
  const sync = await post(api.url, '/sync-generator', {});
  t.is(sync.status, 500);
  await api.waitForLog((line) => JSON.stringify(line).includes('a handler route cannot stream'));
});

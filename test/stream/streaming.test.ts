// SPEC §14 over real HTTP and real processes: an api and a worker of the stream fixture on a real Redis.
import test from 'ava';
import { Redis } from 'ioredis';
import { KaliumClient, KaliumClientError } from '../../libs/client/index.ts';
import { startKalium, type KaliumProcess } from '../helpers/kalium-process.ts';
import { getJob, post, readEvents, submit, until, waitForStatus, type Json } from '../helpers/job-stack.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { waitReady } from '../helpers/wait-ready.ts';
import { startReceiver, type TestReceiver } from '../helpers/webhook-receiver.ts';

const APP = 'test/fixtures/apps/stream-app.ts';
const PREFIX = '{kalium:streamfixture}';

let redis: RedisServer;
let api: KaliumProcess;
let worker: KaliumProcess;
let receiver: TestReceiver;

test.before(async () => {
  redis = await startRedis();
  receiver = await startReceiver();
  const env = { REDIS_URL: redis.url, WEBHOOK_ALLOW_PRIVATE: 'true', RESULT_TTL: '300' };
  [api, worker] = await Promise.all([startKalium('api', APP, env, { timeoutMs: 60_000 }), startKalium('worker', APP, env, { timeoutMs: 60_000 })]);
  await waitReady(api.url, 60_000);
});

test.after.always(async () => {
  await Promise.all([api?.kill('SIGKILL'), worker?.kill('SIGKILL')]);
  await receiver?.close();
  await redis?.stop();
});

const outputs = (events: Array<{ event: string; data: Json }>) => events.filter((e) => e.event === 'output').map((e) => e.data);

test.serial('an async generator streams its chunks as output events, in order, then ends with the chunks as its result', async (t) => {
  const id = await submit(api.url, '/tokens', { n: 20, delayMs: 20 });
  const { events } = await readEvents(api.url, id);
  const chunks = outputs(events);
  t.deepEqual(
    chunks,
    Array.from({ length: 20 }, (_, i) => ({ index: i, chunk: { i, text: `token-${i}` } })),
  );
  const last = events.at(-1)!;
  t.is(last.event, 'succeeded');
  t.deepEqual(last.data.result, chunks.map((c) => c.chunk), 'the result is the list of chunks');
  t.true(events.findIndex((e) => e.event === 'output') < events.length - 1, 'every chunk comes before the end');
});

test.serial('a late subscriber gets every chunk from the first; GET /jobs/:id shows the output so far', async (t) => {
  const id = await submit(api.url, '/tokens', { n: 30, delayMs: 40 });
  // Joins when some chunks are out already.
  await until(async () => ((await getJob(api.url, id)).body.output?.length ?? 0) >= 5, 30_000, 'five chunks out');
  const midway = (await getJob(api.url, id)).body;
  t.is(midway.status, 'running');
  t.true(midway.output.length >= 5 && midway.output.length < 30, `output so far: ${midway.output.length}`);
  t.deepEqual(midway.output[0], { i: 0, text: 'token-0' });
  const { events } = await readEvents(api.url, id);
  t.deepEqual(outputs(events).map((c) => c.index), Array.from({ length: 30 }, (_, i) => i));
  // After the end too: a subscriber to the finished job still gets every chunk, then the end.
  const after = await readEvents(api.url, id);
  t.is(outputs(after.events).length, 30);
  t.is(after.events.at(-1)!.event, 'succeeded');
  t.is((await getJob(api.url, id)).body.output.length, 30);
});

test.serial("a generator's return value is its result; any async iterable streams", async (t) => {
  const summary = await submit(api.url, '/summary');
  const done = await waitForStatus(api.url, summary, ['succeeded']);
  t.deepEqual(done.result, { joined: 'ab' });
  t.deepEqual(done.output, ['a', 'b']);
  const iterable = await waitForStatus(api.url, await submit(api.url, '/iterable'), ['succeeded']);
  t.deepEqual(iterable.result, [1, 2]);
});

test.serial("a retried job streams again from index 0 with its attempt; its output and result are the last run's", async (t) => {
  const id = await submit(api.url, '/retried');
  const { events } = await readEvents(api.url, id);
  t.deepEqual(outputs(events), [
    { index: 0, chunk: 'a0' },
    { index: 1, chunk: 'a1' },
    { index: 0, chunk: 'b0', attempt: 2 },
    { index: 1, chunk: 'b1', attempt: 2 },
    { index: 2, chunk: 'b2', attempt: 2 },
  ]);
  const done = events.at(-1)!.data;
  t.is(done.status, 'succeeded');
  t.deepEqual(done.result, ['b0', 'b1', 'b2']);
  t.deepEqual(done.output, ['b0', 'b1', 'b2']);
  // A late subscriber gets the last run only.
  t.deepEqual(outputs((await readEvents(api.url, id)).events).map((c) => c.chunk), ['b0', 'b1', 'b2']);
  const streamed: unknown[] = [];
  for await (const chunk of new KaliumClient({ baseUrl: api.url }).stream(id)) streamed.push(chunk);
  t.deepEqual(streamed, ['b0', 'b1', 'b2']);
});

test.serial('the output stream expires with the job (RESULT_TTL)', async (t) => {
  const id = await submit(api.url, '/summary');
  await waitForStatus(api.url, id, ['succeeded']);
  const client = new Redis(redis.url);
  try {
    const ttl = await client.ttl(`${PREFIX}:output:${id}`);
    t.true(ttl > 0 && ttl <= 300, `ttl ${ttl}`);
  } finally {
    client.disconnect();
  }
});

test.serial('past its cap on kept output a job fails, not retried, with the chunks within the cap kept', async (t) => {
  const id = await submit(api.url, '/flood');
  const failed = await waitForStatus(api.url, id, ['failed']);
  t.regex(failed.error, /cap of 2000 bytes/);
  t.is(failed.attempts, 1);
  t.is(failed.output.length, 20, 'twenty 100-byte chunks fit in 2,000 bytes');
});

test.serial('output webhooks: at most one per 500 ms per job, each with the chunks since the last, all of them in order', async (t) => {
  const started = Date.now();
  const id = await submit(api.url, '/tokens', { n: 40, delayMs: 50 }, { 'X-Webhook-Url': receiver.url, 'X-Webhook-Events': 'output,succeeded' });
  await waitForStatus(api.url, id, ['succeeded']);
  const ran = Date.now() - started;
  const mine = () => receiver.requests.map((r) => JSON.parse(r.body) as Json).filter((b) => b.id === id);
  await until(() => mine().some((b) => b.event === 'succeeded'), 30_000, 'the succeeded webhook');
  const deliveries = mine().filter((b) => b.event === 'output');
  const chunks = deliveries.flatMap((b) => b.output as Json[]);
  t.deepEqual(chunks.map((c) => c.i), Array.from({ length: 40 }, (_, i) => i), 'every chunk once, in order');
  let next = 0;
  for (const delivery of deliveries) {
    t.is(delivery.output_index, next, 'each delivery starts where the last one ended');
    next += delivery.output.length;
  }
  // 40 chunks over about 2 s: one delivery per chunk would be 40; the window allows one per 500 ms.
  t.true(deliveries.length >= 2, `${deliveries.length} deliveries`);
  t.true(deliveries.length <= Math.ceil(ran / 500) + 1, `${deliveries.length} deliveries in ${ran} ms`);
});

test.serial('bad Cancel-After and X-Priority values are 400 naming the header, and nothing is queued', async (t) => {
  const client = new Redis(redis.url);
  try {
    const before = await client.zcard(`${PREFIX}:jobs:prioritized`);
    for (const [header, value] of [
      ['Cancel-After', 'soon'],
      ['Cancel-After', '0s'],
      ['Cancel-After', '25h'],
      ['Cancel-After', '-5m'],
      ['X-Priority', 'urgent'],
      ['X-Priority', '1'],
    ] as const) {
      const res = await post(api.url, '/hold', { ms: 0 }, { [header]: value });
      t.is(res.status, 400, `${header}: ${value}`);
      t.is(res.body.error.code, 'invalid_header');
      t.true(String(res.body.error.message).startsWith(header), res.body.error.message);
    }
    t.is(await client.zcard(`${PREFIX}:jobs:prioritized`), before);
    t.is(await client.llen(`${PREFIX}:jobs:wait`), 0);
  } finally {
    client.disconnect();
  }
});

test.serial('X-Priority: queued jobs run high before normal before low, first in first out within a level', async (t) => {
  const busy = await submit(api.url, '/hold', { ms: 1500 });
  await waitForStatus(api.url, busy, ['running']);
  const ids: Array<[string, string]> = [];
  for (const [tag, priority] of [
    ['low-1', 'low'],
    ['normal-1', undefined],
    ['normal-2', 'normal'],
    ['high-1', 'high'],
    ['low-2', 'low'],
    ['high-2', 'HIGH'],
  ] as const) {
    ids.push([tag, await submit(api.url, '/hold', { ms: 0, tag }, priority ? { 'X-Priority': priority } : {})]);
  }
  const ended = await Promise.all(ids.map(async ([tag, id]) => ({ tag, order: (await waitForStatus(api.url, id, ['succeeded'])).result.order as number })));
  t.deepEqual(
    ended.sort((a, b) => a.order - b.order).map((e) => e.tag),
    ['high-1', 'high-2', 'normal-1', 'normal-2', 'low-1', 'low-2'],
  );
});

test.serial('Cancel-After: a job still queued at its deadline never runs and ends canceled with deadline_exceeded', async (t) => {
  const busy = await submit(api.url, '/hold', { ms: 1500 });
  await waitForStatus(api.url, busy, ['running']);
  const id = await submit(api.url, '/hold', { ms: 0, tag: 'late' }, { 'Cancel-After': '500ms' });
  const canceled = await waitForStatus(api.url, id, ['canceled']);
  t.is(canceled.error_code, 'deadline_exceeded');
  t.regex(canceled.error, /deadline of 500 ms/);
  t.is(canceled.started_at, null, 'it never started');
  t.is(canceled.result, null);
  t.is((await waitForStatus(api.url, busy, ['succeeded'])).result.tag, null);
});

test.serial('jobs canceled at their deadline are counted as canceled, never as failed', async (t) => {
  const counts = async () => ((await (await fetch(`${api.url}/__status__`)).json()) as { queue: Record<string, number> }).queue;
  const before = await counts();
  const id = await submit(api.url, '/hold', { ms: 60_000 }, { 'Cancel-After': '300ms' });
  await waitForStatus(api.url, id, ['canceled']);
  await until(async () => (await counts()).canceled === before.canceled! + 1, 10_000, 'the canceled count');
  t.is((await counts()).failed, before.failed);
});

test.serial("Cancel-After: a running job's signal aborts at its deadline; it ends canceled and the worker is free", async (t) => {
  const started = Date.now();
  const id = await submit(api.url, '/hold', { ms: 60_000 }, { 'Cancel-After': '1s' });
  const canceled = await waitForStatus(api.url, id, ['canceled']);
  t.true(Date.now() - started < 30_000);
  t.is(canceled.error_code, 'deadline_exceeded');
  t.not(canceled.started_at, null, 'it had started');
  // The handler returned on its signal's abort: the worker takes the next job at once.
  const next = await waitForStatus(api.url, await submit(api.url, '/hold', { ms: 0, tag: 'next' }), ['succeeded'], 20_000);
  t.is(next.result.tag, 'next');
});

test.serial("route defaults: maxQueueMs cancels a job that waited too long; deadlineMs one that ran too long", async (t) => {
  const busy = await submit(api.url, '/hold', { ms: 1200 });
  await waitForStatus(api.url, busy, ['running']);
  const queuedTooLong = await submit(api.url, '/bounded', { ms: 0 });
  const waited = await waitForStatus(api.url, queuedTooLong, ['canceled']);
  t.is(waited.error_code, 'deadline_exceeded');
  t.regex(waited.error, /maxQueueMs of 400 ms/);
  await waitForStatus(api.url, busy, ['succeeded']);
  const ranTooLong = await waitForStatus(api.url, await submit(api.url, '/bounded', { ms: 30_000 }), ['canceled']);
  t.is(ranTooLong.error_code, 'deadline_exceeded');
  t.regex(ranTooLong.error, /deadline of 600 ms/);
  // Cancel-After overrides the route's deadlineMs.
  const allowed = await waitForStatus(api.url, await submit(api.url, '/bounded', { ms: 900 }, { 'Cancel-After': '20s' }), ['succeeded']);
  t.deepEqual(allowed.result, { ran: true });
});

test.serial('client.stream(id) iterates the chunks in order, however late it is called; events(id) carries the outputs', async (t) => {
  const client = new KaliumClient({ baseUrl: api.url });
  const { id } = await client.submit('/tokens', { n: 15, delayMs: 20 }, { priority: 'high' });
  const live: unknown[] = [];
  for await (const chunk of client.stream(id)) live.push(chunk);
  t.deepEqual(live, Array.from({ length: 15 }, (_, i) => ({ i, text: `token-${i}` })));
  const late: unknown[] = [];
  for await (const chunk of client.stream(id)) late.push(chunk);
  t.deepEqual(late, live, 'a call after the end replays every chunk');
  const events: string[] = [];
  for await (const event of client.events(id)) events.push(event.event);
  t.deepEqual(events, [...Array(15).fill('output'), 'succeeded']);
});

test.serial("client.submit's deadline option is Cancel-After: stream throws deadline_exceeded for a job past it", async (t) => {
  const client = new KaliumClient({ baseUrl: api.url });
  const { id } = await client.submit('/tokens', { n: 1000, delayMs: 50 }, { deadline: 700 });
  const seen: unknown[] = [];
  const error = await t.throwsAsync(
    async () => {
      for await (const chunk of client.stream(id)) seen.push(chunk);
    },
    { instanceOf: KaliumClientError },
  );
  t.is(error?.code, 'deadline_exceeded');
  t.true(seen.length > 0 && seen.length < 1000, `${seen.length} chunks before the deadline`);
  const job = await client.get(id);
  t.is(job.status, 'canceled');
  t.is(job.error_code, 'deadline_exceeded');
  t.is(job.output?.length, seen.length, 'the chunks streamed before the deadline are kept');
  const bad = await t.throwsAsync(client.submit('/tokens', {}, { deadline: 'tomorrow' }), { instanceOf: KaliumClientError });
  t.is(bad?.status, 400);
});

// Last in the file: it leaves a thousand jobs for the worker.
test.serial('a high job submitted behind 1,000 normal ones is the next to start', async (t) => {
  const before = (await waitForStatus(api.url, await submit(api.url, '/hold', { ms: 0 }), ['succeeded'])).result.order as number;
  // Holds the worker until every submit is in (canceled then: its handler returns on the signal).
  const busy = await submit(api.url, '/hold', { ms: 120_000 });
  await waitForStatus(api.url, busy, ['running']);
  for (let i = 0; i < 1000; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => submit(api.url, '/hold', { ms: 0, tag: `normal-${i + j}` })));
  }
  const high = await submit(api.url, '/hold', { ms: 0, tag: 'high' }, { 'X-Priority': 'high' });
  t.is((await fetch(`${api.url}/jobs/${busy}`, { method: 'DELETE' })).status, 200);
  const highDone = await waitForStatus(api.url, high, ['succeeded']);
  t.is(highDone.result.order, before + 2, 'the busy job, then the high one, before any of the 1,000');
});

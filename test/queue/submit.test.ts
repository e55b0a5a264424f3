// SPEC §4 (POST <background path>, GET /jobs/:id) and §5: a job is in Redis before its 202, the worker
// runs it and stores its result in the app's Store; statuses, failures, timeouts, idempotency, bad input.
import test from 'ava';
import { getJob, post, PREFIX, startStack, submit, until, waitForStatus, type JobStack } from '../helpers/job-stack.ts';

let stack: JobStack;

test.before(async () => {
  stack = await startStack({ env: { RESULT_TTL: '120' } });
});
test.after.always(async () => {
  await stack?.close();
});

test.serial('a background request answers 202 with SPEC’s body once the job is in Redis; the worker stores its result', async (t) => {
  const res = await post(stack.api.url, '/echo', { text: 'hello' });
  t.is(res.status, 202);
  t.is(res.headers.get('x-endpoint-type'), 'background');
  const id = String(res.body.id);
  t.regex(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.deepEqual(res.body, { success: true, started: true, id, status: 'queued', status_url: `/jobs/${id}` });
  t.is(res.headers.get('location'), `/jobs/${id}`);
  // The job hash exists the moment the answer arrives (whatever the worker has done with it since).
  t.is(await stack.redis.client().exists(`${PREFIX}:jobs:${id}`), 1);

  const done = await waitForStatus(stack.api.url, id, ['succeeded']);
  t.deepEqual(Object.keys(done), ['id', 'route', 'status', 'progress', 'result', 'error', 'error_code', 'attempts', 'worker_losses', 'created_at', 'started_at', 'finished_at', 'webhook']);
  t.like(done, { id, route: '/echo', status: 'succeeded', progress: 100, error: null, error_code: null, attempts: 1, worker_losses: 0, webhook: null });
  t.deepEqual(done.result, { echo: { text: 'hello' }, attempt: 1, id });
  for (const field of ['created_at', 'started_at', 'finished_at']) t.false(Number.isNaN(Date.parse(done[field])), field);
  t.true(Date.parse(done.created_at) <= Date.parse(done.started_at) && Date.parse(done.started_at) <= Date.parse(done.finished_at));

  // The result is in the app's Store under the job id: a gpu=false route reads it with app.store.get(id).
  t.deepEqual((await post(stack.api.url, '/result', { id })).body, done.result);
  const ttl = await stack.redis.client().ttl(`${PREFIX}:store:${id}`);
  t.true(ttl > 100 && ttl <= 120, `result TTL ${ttl} s follows RESULT_TTL`);
});

test.serial('the handler gets the request body byte for byte (JSON, text, binary); Redis keeps a JSON body once', async (t) => {
  const sent = async (body: string | Blob, type: string) => {
    const res = await fetch(`${stack.api.url}/body`, { method: 'POST', body, headers: { 'content-type': type } });
    t.is(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    return { id, result: (await getJob(stack.api.url, id, '?wait=10')).body.result as { bytes: string; json: unknown } };
  };
  const pretty = '{\n  "text": "caf\u00e9 \u2603",\n  "n": 1.50\n}';
  const json = await sent(pretty, 'application/json');
  t.is(Buffer.from(json.result.bytes, 'base64').toString('utf8'), pretty, 'the bytes as sent, spaces included');
  t.deepEqual(json.result.json, { text: 'café ☃', n: 1.5 });
  const text = await sent('just words', 'text/plain');
  t.deepEqual(text.result, { bytes: Buffer.from('just words').toString('base64'), json: null });
  const binary = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x80, 0x7d]); // not UTF-8
  t.deepEqual((await sent(new Blob([binary]), 'application/octet-stream')).result, { bytes: binary.toString('base64'), json: null });

  // A large JSON body is kept in the job once (not as base64 bytes and parsed JSON both).
  const big = JSON.stringify({ prompt: 'x'.repeat(100_000) });
  const { id } = await sent(big, 'application/json');
  const data = await stack.redis.client().hget(`${PREFIX}:jobs:${id}`, 'data');
  t.true(data!.length < big.length * 1.2, `${data!.length} bytes of job data for a ${big.length}-byte body`);
});

test.serial('a failing handler fails the job with its message only, after the route’s attempts', async (t) => {
  const id = await submit(stack.api.url, '/fails');
  const failed = await waitForStatus(stack.api.url, id, ['failed']);
  t.is(failed.status, 'failed');
  t.is(failed.error, 'model exploded on attempt 2 at /home/model/weights.bin', 'the last attempt’s message');
  t.is(failed.attempts, 2);
  t.is(failed.result, null);
  t.truthy(failed.finished_at);
  // No stack is kept anywhere: not in the body, not in BullMQ's job hash.
  const stacktrace = await stack.redis.client().hget(`${PREFIX}:jobs:${id}`, 'stacktrace');
  t.deepEqual(JSON.parse(stacktrace ?? '[]'), []);
  t.false(JSON.stringify(failed).includes('    at '));
});

test.serial('a job past its timeoutMs fails with a timeout, its signal aborted', async (t) => {
  const id = await submit(stack.api.url, '/times-out', { ms: 3000 });
  const started = Date.now();
  const failed = await waitForStatus(stack.api.url, id, ['failed'], 10_000);
  t.true(Date.now() - started < 2500, 'failed at the timeout, not when the handler returned');
  t.is(failed.error, 'The job did not finish within its timeout of 300 ms.');
  t.is(failed.attempts, 1);
});

test.serial('a gpu job reports progress and runs with the context from init', async (t) => {
  const id = await submit(stack.api.url, '/gpu', { ms: 700 });
  const running = await waitForStatus(stack.api.url, id, ['running']);
  t.is(running.attempts, 1);
  t.truthy(running.started_at);
  t.is(running.finished_at, null);
  let progress = 0;
  await until(async () => {
    progress = (await getJob(stack.api.url, id)).body.progress;
    return progress > 0;
  }, 10_000, 'progress reported');
  t.true([10, 60, 100].includes(progress), `progress ${progress}`);
  const done = await waitForStatus(stack.api.url, id, ['succeeded']);
  t.is(typeof done.result.pid, 'number');
  t.is(done.result.pid, Number(stack.workers[0]!.logs.find((l) => l.msg === 'worker ready')?.pid), 'run by the worker process');
});

test.serial('Idempotency-Key: the same key and body give the same job (200); another body gets 422', async (t) => {
  const headers = { 'Idempotency-Key': 'order-42' };
  const first = await post(stack.api.url, '/echo', { n: 1 }, headers);
  t.is(first.status, 202);
  const again = await post(stack.api.url, '/echo', { n: 1 }, headers);
  t.is(again.status, 200);
  t.deepEqual(again.body, first.body);
  await waitForStatus(stack.api.url, String(first.body.id), ['succeeded']);
  // Still the same job once it has ended (for RESULT_TTL).
  const later = await post(stack.api.url, '/echo', { n: 1 }, headers);
  t.is(later.status, 200);
  t.is(later.body.id, first.body.id);

  const other = await post(stack.api.url, '/echo', { n: 2 }, headers);
  t.is(other.status, 422);
  t.is(other.body.error.code, 'idempotency_key_reused');
  const otherRoute = await post(stack.api.url, '/gpu', { n: 1 }, headers);
  t.is(otherRoute.status, 422, 'the key names one request: the same body on another route is another request');

  const tooLong = await post(stack.api.url, '/echo', { n: 1 }, { 'Idempotency-Key': 'x'.repeat(256) });
  t.is(tooLong.status, 400);
});

test.serial('Idempotency-Key under a race: concurrent submits make one job', async (t) => {
  const headers = { 'Idempotency-Key': `race-${Date.now()}` };
  const answers = await Promise.all(Array.from({ length: 12 }, () => post(stack.api.url, '/counted', { ms: 0 }, headers)));
  t.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 202]);
  t.is(new Set(answers.map((a) => a.body.id)).size, 1);
  const id = String(answers[0]!.body.id);
  await waitForStatus(stack.api.url, id, ['succeeded']);
  t.is(await stack.redis.client().get(`runs:${id}`), '1', 'the handler ran once');
});

test.serial('bad input gets a clear 4xx and queues nothing', async (t) => {
  const client = stack.redis.client();
  const before = await client.llen(`${PREFIX}:jobs:wait`) + (await client.zcard(`${PREFIX}:jobs:completed`));

  const invalid = await fetch(`${stack.api.url}/echo`, { method: 'POST', body: '{"text": ', headers: { 'content-type': 'application/json' } });
  t.is(invalid.status, 400);
  t.is(((await invalid.json()) as any).error.code, 'invalid_json');
  const wrongMethod = await fetch(`${stack.api.url}/echo`);
  t.is(wrongMethod.status, 405);
  t.is(wrongMethod.headers.get('allow'), 'POST');

  const malformed = await getJob(stack.api.url, 'not-a-job-id');
  t.is(malformed.status, 400);
  t.is(malformed.body.error.code, 'invalid_job_id');
  t.is((await fetch(`${stack.api.url}/jobs/${'1'.repeat(300)}`, { method: 'DELETE' })).status, 400);
  const unknown = await getJob(stack.api.url, '0b9f1c2e-4a5b-4c6d-8e7f-0123456789ab');
  t.is(unknown.status, 404);
  t.is(unknown.body.error.code, 'job_not_found');
  t.truthy(unknown.body.error.request_id);

  const id = await submit(stack.api.url, '/echo', {});
  for (const wait of ['abc', '61', '-1', '1e3', '']) {
    const res = await getJob(stack.api.url, id, `?wait=${wait}`);
    t.is(res.status, 400, `wait=${wait}`);
    t.is(res.body.error.code, 'bad_request');
  }
  await waitForStatus(stack.api.url, id, ['succeeded']);
  const after = await client.llen(`${PREFIX}:jobs:wait`) + (await client.zcard(`${PREFIX}:jobs:completed`));
  t.is(after, before + 1, 'only the one valid submit made a job');
});

// SPEC §15: a potassium 0.0.9 app, unchanged, served by real kalium api and worker processes.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { verifyWebhook } from '../../libs/client/index.ts';
import { CLI, cleanEnv, startKalium, type KaliumProcess } from '../helpers/kalium-process.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { startReceiver, type TestReceiver } from '../helpers/webhook-receiver.ts';

const APP = resolve('test/fixtures/python/potassium_app.py');
const SECRET = 'whsec_' + Buffer.from('python-test-secret-0123456789').toString('base64');
let redis: RedisServer;
let api: KaliumProcess;
let worker: KaliumProcess;
let receiver: TestReceiver;
const marker = join(mkdtempSync(join(tmpdir(), 'kalium-py-')), 'crashed');

test.before(async () => {
  [redis, receiver] = await Promise.all([startRedis(), startReceiver()]);
  const env = { REDIS_URL: redis.url, WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: 'true', CRASH_MARKER: marker, KALIUM_STALLED_INTERVAL_MS: '200' };
  [api, worker] = await Promise.all([startKalium('api', APP, env), startKalium('worker', APP, env)]);
});
test.after.always(async () => {
  await Promise.all([api?.kill(), worker?.kill()]);
  await receiver?.close();
  await redis?.stop();
});

const post = (path: string, body: unknown) =>
  fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const job = async (path: string, body: unknown) => ((await (await post(path, body)).json()) as { id: string }).id;
const waitJob = async (id: string) => (await (await fetch(`${api.url}/jobs/${id}?wait=20`)).json()) as Record<string, unknown>;

test.serial('a potassium handler answers as it did under potassium, with kalium’s headers', async (t) => {
  const res = await post('/', { prompt: 'hello' });
  t.is(res.status, 200);
  t.is(res.headers.get('x-endpoint-type'), 'handler');
  t.truthy(res.headers.get('x-request-id'));
  t.regex(res.headers.get('content-type') ?? '', /application\/json/);
  t.deepEqual(await res.json(), { outputs: 'HELLO' });
});

test.serial('a background job writes the Store, sends a signed webhook and returns its result; the api reads the Store', async (t) => {
  const started = await post('/background', { prompt: 'queued', key: 'k1', hook: receiver.url });
  t.is(started.status, 202);
  const body = (await started.json()) as Record<string, unknown>;
  t.like(body, { success: true, started: true, status: 'queued' });
  const done = await waitJob(String(body.id));
  t.like(done, { status: 'succeeded', result: { outputs: 'QUEUED' } });
  const [delivery] = await receiver.waitFor(1);
  t.deepEqual(JSON.parse(delivery!.body), { outputs: 'QUEUED' });
  t.true(verifyWebhook(SECRET, delivery!.headers, delivery!.body), 'signed with WEBHOOK_SECRET');
  const read = await post('/result', { key: 'k1' });
  t.deepEqual(await read.json(), { value: { outputs: 'QUEUED' } });
});

test.serial('a gpu handler gets 423 while the worker’s model process holds the GPU lease', async (t) => {
  const id = await job('/slow-job', { ms: 1500 });
  for (let i = 0; i < 100 && (await (await fetch(`${api.url}/jobs/${id}`)).json() as { status: string }).status !== 'running'; i++) {
    await new Promise((done) => setTimeout(done, 20));
  }
  const busy = await post('/', { prompt: 'x' });
  t.is(busy.status, 423);
  t.is(((await busy.json()) as { error: { code: string } }).error.code, 'gpu_busy');
  t.truthy(busy.headers.get('retry-after'));
  const cpu = await post('/cpu', { ms: 0 });
  t.is(cpu.status, 200, 'gpu=False routes answer while the GPU is busy');
  t.like(await waitJob(id), { status: 'succeeded' });
  t.is((await post('/', { prompt: 'x' })).status, 200);
});

test.serial('job.progress reaches the job; a Python exception’s message is the job’s error, its traceback only in the log', async (t) => {
  const progress = await startReceiver();
  t.teardown(() => progress.close());
  const submitted = await fetch(`${api.url}/progress`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-webhook-url': progress.url, 'x-webhook-events': 'progress' },
    body: '{}',
  });
  const { id } = (await submitted.json()) as { id: string };
  t.like(await waitJob(id), { status: 'succeeded', result: { attempt: 1, id } });
  const [event] = await progress.waitFor(1);
  t.like(JSON.parse(event!.body), { event: 'progress', progress: 50, id });
  const failed = await waitJob(await job('/fail-job', {}));
  t.like(failed, { status: 'failed', attempts: 2 });
  t.is(JSON.stringify(failed.error).includes('no luck this time'), true);
  t.false(JSON.stringify(failed).includes('Traceback'));
  const logged = await worker.waitForLog((line) => JSON.stringify(line).includes('raise ValueError(\\"no luck this time\\")'));
  t.regex(JSON.stringify(logged), /Traceback/);
});

test.serial('DELETE /jobs/:id of a running Python job sets job.aborted in the model process', async (t) => {
  const id = await job('/abortable', {});
  for (let i = 0; i < 100 && ((await (await fetch(`${api.url}/jobs/${id}`)).json()) as { status: string }).status !== 'running'; i++) {
    await new Promise((done) => setTimeout(done, 20));
  }
  const canceled = await fetch(`${api.url}/jobs/${id}`, { method: 'DELETE' });
  t.is(canceled.status, 200);
  await worker.waitForLog((line) => line.msg === 'abortable saw aborted=True');
  t.like(await waitJob(id), { status: 'canceled' });
});

test.serial('a sync handler that raises is 500 handler_error without the traceback; one returning a set is 500 naming the type in the log', async (t) => {
  const res = await post('/fail', {});
  t.is(res.status, 500);
  const text = await res.text();
  t.is((JSON.parse(text) as { error: { code: string } }).error.code, 'handler_error');
  t.false(text.includes('Traceback') || text.includes('bad prompt'));
  await api.waitForLog((line) => JSON.stringify(line).includes('Traceback') && JSON.stringify(line).includes('bad prompt'));
  const set = await post('/set', {});
  t.is(set.status, 500);
  const logged = await api.waitForLog((line) => line.returned === 'set');
  t.regex(String(logged.msg), /returned a set, which is not JSON-serialisable/);
});

test.serial('binary bodies pass through a handler byte for byte; a local Store works within the process', async (t) => {
  const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256));
  const res = await fetch(`${api.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Blob([bytes]) });
  t.is(res.status, 200);
  t.true(Buffer.from(await res.arrayBuffer()).equals(bytes));
  t.deepEqual(await (await post('/local', { a: [1, 2] })).json(), { a: [1, 2] });
});

test.serial('cache=dict(ttl=60) on a Python handler is kalium’s response cache: the second identical call is a hit, the handler not called', async (t) => {
  const first = await post('/cached', { q: 1 });
  t.is(first.headers.get('x-cache'), 'MISS');
  const body = await first.json();
  const second = await post('/cached', { q: 1 });
  t.is(second.headers.get('x-cache'), 'HIT');
  t.deepEqual(await second.json(), body);
  t.truthy(second.headers.get('etag'));
  t.regex(second.headers.get('content-type') ?? '', /application\/json/);
  const other = (await (await post('/cached', { q: 2 })).json()) as { calls: number };
  t.is(other.calls, (body as { calls: number }).calls + 1);
});

test.serial('init ran once in each process, whatever the number of calls and jobs; its print is logged with the role', async (t) => {
  for (let i = 0; i < 3; i++) t.like(await (await post('/inits', {})).json(), { inits: 1 });
  await waitJob(await job('/progress', {}));
  for (const [proc, role] of [[api, 'api'], [worker, 'worker']] as const) {
    const prints = proc.logs.filter((line) => String(line.msg).startsWith('init ran in pid'));
    t.is(prints.length, 1);
    t.like(prints[0], { name: role, python: 'stdout' });
    t.like(proc.logs.find((line) => line.msg === 'model loaded'), { name: role, python: 'logging', level: 40 });
  }
});

test.serial('a crashed model process: the call in flight is 500, /readyz is 503 until init has run again, then it serves', async (t) => {
  const before = (await (await post('/inits', {})).json()) as { pid: number };
  const res = await post('/crash', {});
  t.is(res.status, 500);
  t.is(((await res.json()) as { error: { code: string } }).error.code, 'handler_error');
  const ready = await fetch(`${api.url}/readyz`);
  t.is(ready.status, 503);
  t.regex(await ready.text(), /model process is starting again/);
  for (let i = 0; i < 200 && (await fetch(`${api.url}/readyz`)).status !== 200; i++) await new Promise((done) => setTimeout(done, 50));
  t.is((await fetch(`${api.url}/readyz`)).status, 200);
  const after = (await (await post('/inits', {})).json()) as { pid: number; inits: number };
  t.not(after.pid, before.pid);
  t.is(after.inits, 1);
  t.deepEqual(await (await post('/', { prompt: 'back' })).json(), { outputs: 'BACK' });
});

test.serial('a job whose model process dies fails that attempt and succeeds on the next, in a restarted process', async (t) => {
  const done = await waitJob(await job('/crash-job', {}));
  t.like(done, { status: 'succeeded', result: { attempt: 2 }, attempts: 2 });
  t.truthy(worker.logs.find((line) => line.msg === 'the Python model process died; its calls in flight failed; starting it again with init'));
});

test('init raising stops the api at start-up, with the Python traceback in its log', async (t) => {
  const child = spawn(process.execPath, [CLI, 'api', resolve('test/fixtures/python/init_fails.py')], { env: cleanEnv({ REDIS_URL: redis.url }) });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise((done) => child.once('exit', done));
  t.is(code, 1);
  t.regex(out, /init failed/);
  t.regex(out, /Traceback \(most recent call last\)[\s\S]*FileNotFoundError: no weights at \/models\/bert.bin/);
});

test('an app that fails to import stops the worker at start-up, naming the missing module', async (t) => {
  const child = spawn(process.execPath, [CLI, 'worker', resolve('test/fixtures/python/import_fails.py')], { env: cleanEnv({ REDIS_URL: redis.url }) });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  t.is(await new Promise((done) => child.once('exit', done)), 1);
  t.regex(out, /start-up failed: No module named 'a_module_that_does_not_exist'/);
  t.regex(out, /Traceback/);
});

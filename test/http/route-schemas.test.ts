// SPEC §13 at the HTTP edge: input schemas checked before the handler runs and before a job is queued
// (422 invalid_input with issues), request.json as the schema's output, output schemas checked in
// development, WHATWG Responses kept as they are, and what kalium cannot answer with a 500 that says so.
import { Writable } from 'node:stream';
import test from 'ava';
import app, { calls } from '../fixtures/apps/schema-app.ts';
import { Request } from '../../libs/kalium/app/request.ts';
import type { BackgroundFn, BackgroundRoute, JobContext } from '../../libs/kalium/app/routes.ts';
import { loadConfig } from '../../libs/kalium/config/config.ts';
import { startApiServer, type ApiServer } from '../../libs/kalium/http/api-server.ts';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { appKeys } from '../../libs/kalium/redis/keys.ts';
import { Runtime } from '../../libs/kalium/runtime/runtime.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

let redis: RedisServer;
let prod: Api;
let dev: Api;

interface Api {
  api: ApiServer;
  lines: Array<Record<string, unknown>>;
}

async function start(env: Record<string, string>): Promise<Api> {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', REDIS_URL: redis.url, ...env });
  const runtime = new Runtime(app, config, createLogger({ level: 'info', destination }), { processMetrics: false });
  const api = await startApiServer(runtime);
  await runtime.initialize();
  return { api, lines };
}

test.before(async () => {
  redis = await startRedis();
  prod = await start({});
  dev = await start({ NODE_ENV: 'development' });
});
test.after.always(async () => {
  await prod?.api.close();
  await dev?.api.close();
  await redis?.stop();
});

async function post(path: string, body: unknown, on: Api = prod) {
  const response = await fetch(`${on.api.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}
const json = (text: string) => JSON.parse(text) as any;

test.serial('an invalid body is 422 invalid_input listing each issue by path, and the handler never runs', async (t) => {
  const before = calls['/zod'] ?? 0;
  const { status, text } = await post('/zod', { texts: ['', 7] });
  t.is(status, 422);
  const { error } = json(text);
  t.is(error.code, 'invalid_input');
  t.deepEqual(
    error.issues.map((issue: { path: string }) => issue.path),
    ['texts.0', 'texts.1'],
  );
  for (const issue of error.issues) t.true(typeof issue.message === 'string' && issue.message.length > 0);
  t.regex(error.message, /texts\.0/);
  t.is(typeof error.request_id, 'string');
  t.is(calls['/zod'] ?? 0, before, 'the handler did not run');
  // No body at all is checked too: the schema sees undefined.
  t.is((await fetch(`${prod.api.url}/zod`, { method: 'POST' })).status, 422);
});

test.serial('a valid body reaches the handler as the schema output (defaults filled in)', async (t) => {
  const { status, text } = await post('/zod', { texts: ['a'] });
  t.is(status, 200);
  t.deepEqual(json(text), { texts: ['a'], lang: 'en' });
});

test.serial('any Standard Schema library works: valibot', async (t) => {
  t.deepEqual(json((await post('/valibot', { n: 21 })).text), { doubled: 42 });
  const bad = await post('/valibot', { n: 1.5 });
  t.is(bad.status, 422);
  t.is(json(bad.text).error.issues[0].path, 'n');
});

test.serial('a gpu route checks its input before it takes the GPU lease: a bad body is 422 even while the GPU is busy', async (t) => {
  const lease = appKeys('schemafixture').lease('default');
  t.is(await redis.client().set(lease, 'someone-else', 'PX', 30_000, 'NX'), 'OK');
  try {
    t.is((await post('/gpu-checked', { text: 3 })).status, 422);
    t.is((await post('/gpu-checked', { text: 'hi' })).status, 423, 'a valid body does wait for the lease');
  } finally {
    await redis.client().del(lease);
  }
  t.is((await post('/gpu-checked', { text: 'hi' })).status, 200);
});

test.serial('a background route answers an invalid body with 422 and queues nothing', async (t) => {
  const queued = async () => {
    const status = json(await (await fetch(`${prod.api.url}/__status__`)).text()) as { queue: Record<string, number> };
    return Object.values(status.queue).reduce((sum, n) => sum + n, 0);
  };
  const before = await queued();
  const bad = await post('/queued', { texts: [] });
  t.is(bad.status, 422);
  t.is(json(bad.text).error.issues[0].path, 'texts');
  t.is(await queued(), before);
  t.is((await post('/queued', { texts: ['x'] })).status, 202);
  t.is(await queued(), before + 1);
});

test('the worker hands a background handler the schema output too', async (t) => {
  const route = app.route('/queued') as BackgroundRoute;
  const job: JobContext = { id: 'j', attempt: 1, signal: new AbortController().signal, progress: async () => {} };
  const body = Buffer.from('{"texts":["x"]}');
  const request = new Request({ id: 'r', path: '/queued', method: 'POST', headers: {}, query: {}, json: { texts: ['x'] }, body });
  t.deepEqual(await (route.fn as BackgroundFn<unknown>)({ ready: true }, request, job), { lang: 'en' });
});

test.serial('in development an answer outside the output schema is a 500 naming the mismatch; in production it is sent', async (t) => {
  t.is((await post('/labelled', { wrong: false }, dev)).status, 200);
  const wrong = await post('/labelled', { wrong: true }, dev);
  t.is(wrong.status, 500);
  t.is(json(wrong.text).error.code, 'invalid_output');
  const line = dev.lines.find((l) => String(l.msg).includes('output schema'));
  t.truthy(line, 'the log says the answer broke the output schema');
  t.regex(String(line!.msg), /\/labelled.*label/);
  const sent = await post('/labelled', { wrong: true });
  t.is(sent.status, 200);
  t.deepEqual(json(sent.text), { label: 42 });
});

test('a handler still reads every header (repeated ones joined) and the query, built when first read', async (t) => {
  const headers = new Headers({ 'x-request-id': 'parts-1' });
  headers.append('x-tag', 'a');
  headers.append('x-tag', 'b');
  const response = await fetch(`${prod.api.url}/request-parts?q=1&q=2&one=x`, { method: 'POST', headers });
  t.deepEqual(json(await response.text()), { tag: 'a, b', query: { q: ['1', '2'], one: 'x' }, id: 'parts-1' });
});

test('a WHATWG Response keeps its status, headers and body', async (t) => {
  const text = await post('/whatwg', {});
  t.is(text.status, 201);
  t.is(text.headers.get('x-kind'), 'whatwg');
  t.is(text.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.is(text.text, 'hello');
  t.is(text.headers.get('x-endpoint-type'), 'handler');
  t.truthy(text.headers.get('x-request-id'));

  const data = await post('/whatwg-json', {});
  t.is(data.status, 202);
  t.is(data.headers.get('x-kind'), 'json');
  t.regex(data.headers.get('content-type') ?? '', /application\/json/);
  t.deepEqual(json(data.text), { ok: true });

  const streamed = await post('/whatwg-stream', {});
  t.is(streamed.status, 200);
  t.is(streamed.text, 'one two three');

  const empty = await post('/whatwg-empty', {});
  t.is(empty.status, 204);
  t.is(empty.headers.get('x-empty'), 'yes');
  t.is(empty.text, '');
});

for (const [kind, named] of [
  ['function', /a function \(modelOutput\)/],
  ['map', /an instance of Map/],
  ['circular', /JSON cannot encode/],
  ['bigint', /a bigint/],
  ['stream', /ReadableStream.*stream/],
] as const) {
  test.serial(`a handler returning a ${kind} is a 500 whose log line names what came back`, async (t) => {
    const response = await fetch(`${prod.api.url}/unanswerable?kind=${kind}`, { method: 'POST', headers: { 'x-request-id': `unanswerable-${kind}` } });
    t.is(response.status, 500);
    const { error } = json(await response.text());
    t.is(error.code, 'invalid_response');
    t.is(error.message, 'Internal error.', 'the caller is not shown kalium’s insides');
    const line = prod.lines.find((l) => l.requestId === `unanswerable-${kind}` && l.level === 50);
    t.truthy(line);
    t.regex(String(line!.msg), named);
    t.regex(String(line!.msg), /cannot answer with/);
  });
}

// The sync half of SPEC §4 over real HTTP: request ids, endpoint type, error shape, bad input, timeouts,
// streaming, and the potassium status routes.
import test from 'ava';
import app, { observed } from '../fixtures/apps/gpu-app.ts';
import { startInProcessApi } from '../helpers/in-process-api.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

let redis: RedisServer;
let api: Awaited<ReturnType<typeof startInProcessApi>>;

test.before(async () => {
  redis = await startRedis();
  api = await startInProcessApi(app, { REDIS_URL: redis.url, BODY_LIMIT: '1kb' });
});
test.after.always(async () => {
  await api?.close();
  await redis?.stop();
});

const post = (path: string, body?: string, headers: Record<string, string> = {}) =>
  fetch(api.url + path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

function assertErrorShape(t: import('ava').ExecutionContext, body: any, code: string, requestId?: string) {
  t.deepEqual(Object.keys(body), ['error']);
  t.is(body.error.code, code);
  t.is(typeof body.error.message, 'string');
  t.true(body.error.message.length > 0);
  t.is(typeof body.error.request_id, 'string');
  if (requestId) t.is(body.error.request_id, requestId);
  t.is(body.error.stack, undefined);
}

test('a plain object returned by a handler is 200 JSON with a request id and the endpoint type', async (t) => {
  const res = await post('/free', '{}');
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /application\/json/);
  t.regex(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  t.is(res.headers.get('x-endpoint-type'), 'handler');
  t.deepEqual(await res.json(), { context: 'undefined' });
});

test('the caller’s X-Request-Id, or potassium’s X-Banana-Request-Id, is kept and reaches the handler', async (t) => {
  const own = await post('/echo', '{}', { 'x-request-id': 'req-123' });
  t.is(own.headers.get('x-request-id'), 'req-123');
  t.is(((await own.json()) as any).id, 'req-123');
  const banana = await post('/echo', '{}', { 'x-banana-request-id': 'banana-9' });
  t.is(banana.headers.get('x-request-id'), 'banana-9');
  const junk = await post('/echo', '{}', { 'x-request-id': 'has spaces and <tags>' });
  t.not(junk.headers.get('x-request-id'), 'has spaces and <tags>');
});

test('the handler sees json, query, lower-case headers and the raw body', async (t) => {
  const res = await post('/echo?a=1&b=2&b=3', JSON.stringify({ text: 'hi' }), { 'X-Test': 'yes' });
  t.deepEqual(await res.json(), {
    id: res.headers.get('x-request-id'),
    json: { text: 'hi' },
    query: { a: '1', b: ['2', '3'] },
    header: 'yes',
    bytes: 13,
  });
});

test('a body sent as curl -d sends it (form content type) is still parsed when it is JSON', async (t) => {
  const res = await fetch(`${api.url}/echo`, {
    method: 'POST',
    body: '{"text":"hi"}',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.deepEqual(((await res.json()) as any).json, { text: 'hi' });
});

test('a Response with status, headers and JSON is answered as given', async (t) => {
  const res = await post('/teapot');
  t.is(res.status, 418);
  t.is(res.headers.get('x-kind'), 'teapot');
  t.deepEqual(await res.json(), { short: 'and stout' });
});

test('invalid JSON under a JSON content type is 400 invalid_json', async (t) => {
  const res = await post('/echo', '{"text": ', { 'x-request-id': 'bad-json' });
  t.is(res.status, 400);
  assertErrorShape(t, await res.json(), 'invalid_json', 'bad-json');
});

test('a body over BODY_LIMIT is 413 payload_too_large, and the api keeps serving', async (t) => {
  const res = await post('/echo', JSON.stringify({ text: 'x'.repeat(2000) }));
  t.is(res.status, 413);
  assertErrorShape(t, await res.json(), 'payload_too_large');
  t.is((await post('/free', '{}')).status, 200);
});

test('an unknown path is 404 not_found', async (t) => {
  const res = await post('/nope', '{}');
  t.is(res.status, 404);
  assertErrorShape(t, await res.json(), 'not_found');
});

test('a wrong method is 405 with Allow', async (t) => {
  const res = await fetch(`${api.url}/free`);
  t.is(res.status, 405);
  t.is(res.headers.get('allow'), 'POST');
  assertErrorShape(t, await res.json(), 'method_not_allowed');
  const system = await fetch(`${api.url}/healthz`, { method: 'POST' });
  t.is(system.status, 405);
  t.regex(system.headers.get('allow') ?? '', /GET/);
});

test('a handler that throws is 500 handler_error without its message or stack', async (t) => {
  const res = await post('/boom', '{}');
  t.is(res.status, 500);
  const text = await res.text();
  t.false(text.includes('secret detail'));
  t.false(text.includes('weights.bin'));
  assertErrorShape(t, JSON.parse(text), 'handler_error');
});

test.serial('a handler over its timeoutMs is 504 timeout, and holds the GPU until it really stops', async (t) => {
  const res = await post('/timeout', JSON.stringify({ ms: 600 }));
  t.is(res.status, 504);
  assertErrorShape(t, await res.json(), 'timeout');
  // The timed-out call is still running on the device: a gpu request now is refused…
  t.is((await post('/slow', '{}')).status, 423);
  // …and gets through once it has ended.
  await new Promise((r) => setTimeout(r, 800));
  t.is((await post('/slow', '{}')).status, 200);
});

test('a handler past its timeoutMs sees request.signal abort', async (t) => {
  const before = observed.aborted;
  const res = await post('/abortable', '{}');
  t.is(res.status, 504);
  for (let i = 0; i < 50 && observed.aborted === before; i++) await new Promise((r) => setTimeout(r, 20));
  t.is(observed.aborted, before + 1);
});

test.serial('an async-iterable body is streamed chunk by chunk', async (t) => {
  const res = await post('/stream', '{}');
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'text/plain');
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) chunks.push(decoder.decode(chunk));
  t.is(chunks.join(''), 'one two three');
  t.true(chunks.length > 1, 'the body arrived in more than one chunk');
});

test('/healthz, /readyz and /_k/warmup answer once init has run', async (t) => {
  t.deepEqual(await (await fetch(`${api.url}/healthz`)).json(), { status: 'ok' });
  t.deepEqual(await (await fetch(`${api.url}/readyz`)).json(), { ready: true });
  const warm = await fetch(`${api.url}/_k/warmup`, { method: 'POST' });
  t.is(warm.status, 200);
  t.deepEqual(await warm.json(), { warm: true });
});

test.serial('/__status__ and /_k/status have potassium’s shape plus queue counts', async (t) => {
  for (const path of ['/__status__', '/_k/status']) {
    const body = (await (await fetch(api.url + path)).json()) as Record<string, unknown>;
    t.is(typeof body.gpu_available, 'boolean');
    t.is(typeof body.sequence_number, 'number');
    t.is(typeof body.idle_time, 'number');
    t.is(typeof body.inference_time, 'number');
    t.is(typeof body.queue, 'object');
  }
  const before = (await (await fetch(`${api.url}/__status__`)).json()) as { sequence_number: number };
  t.is((await post('/wait', '{}')).status, 200);
  const after = (await (await fetch(`${api.url}/__status__`)).json()) as { sequence_number: number };
  t.true(after.sequence_number > before.sequence_number);
});

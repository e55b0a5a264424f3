// KaliumClient against a real kalium api (sync routes); the job methods are in jobs-client.test.ts.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { KaliumClient, KaliumClientError } from '../../libs/client/index.ts';
import app from '../fixtures/apps/gpu-app.ts';
import { startInProcessApi } from '../helpers/in-process-api.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { eventually } from '../helpers/webhook-receiver.ts';

let redis: RedisServer;
let api: Awaited<ReturnType<typeof startInProcessApi>>;

test.before(async () => {
  redis = await startRedis();
  api = await startInProcessApi(app, { REDIS_URL: redis.url });
});
test.after.always(async () => {
  await api?.close();
  await redis?.stop();
});

/** A fetch that notes the status of every answer, so a test can see the 423s the client rode through. */
function observedFetch(statuses: number[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    statuses.push(response.status);
    return response;
  };
}

/** Holds the GPU for `ms` with a real request, resolving once the device is taken. */
async function holdGpu(ms: number): Promise<{ done: Promise<Response> }> {
  const holding = fetch(`${api.url}/slow`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ms }) });
  await eventually(async () => {
    const status = (await (await fetch(`${api.url}/__status__`)).json()) as { gpu_available: boolean };
    return !status.gpu_available;
  }, 10_000, 'the GPU to be taken');
  return { done: holding }; // wrapped: an async function returning a promise would wait for it
}

test.serial('run rides through 423 gpu_busy: it retries, never sooner than Retry-After, until the GPU frees', async (t) => {
  const statuses: number[] = [];
  const client = new KaliumClient({ baseUrl: api.url, fetch: observedFetch(statuses), retry: { initialDelayMs: 50, maxDelayMs: 200 } });
  const holding = await holdGpu(2500);
  const started = Date.now();
  const result = await client.run<{ pid: number }>('/slow', { ms: 0 });
  const elapsed = Date.now() - started;
  t.is(result.pid, process.pid);
  t.is(statuses.at(-1), 200);
  const busy = statuses.filter((s) => s === 423).length;
  t.true(busy >= 1, `saw ${JSON.stringify(statuses)}`);
  // The server says Retry-After: 1; with 50-200 ms backoff only that can space the tries a second apart.
  t.true(elapsed >= busy * 1000, `${busy} retries in ${elapsed} ms`);
  t.is((await holding.done).status, 200);
});

test.serial('run gives up after its attempts with the server\'s gpu_busy error', async (t) => {
  const client = new KaliumClient({ baseUrl: api.url, retry: { attempts: 2, initialDelayMs: 10 } });
  const holding = await holdGpu(4000);
  const error = await t.throwsAsync(client.run('/slow', { ms: 0 }), { instanceOf: KaliumClientError });
  t.is(error!.code, 'gpu_busy');
  t.is(error!.status, 423);
  t.is(error!.retryAfterMs, 1000);
  t.is(typeof error!.requestId, 'string');
  await holding.done;
});

test('errors carry the server\'s code, status, message and request id', async (t) => {
  const client = new KaliumClient({ baseUrl: api.url });
  const boom = await t.throwsAsync(client.run('/boom', {}), { instanceOf: KaliumClientError });
  t.like(boom, { code: 'handler_error', status: 500, message: 'The handler failed.' });
  t.regex(boom!.requestId ?? '', /^[0-9a-f-]{36}$/);
  const missing = await t.throwsAsync(client.run('/no/such/route', {}), { instanceOf: KaliumClientError });
  t.like(missing, { code: 'not_found', status: 404 });
  const timeout = await t.throwsAsync(client.run('/timeout', { ms: 400 }), { instanceOf: KaliumClientError });
  t.like(timeout, { code: 'timeout', status: 504 });
});

test('run resolves to the JSON answer, or the text of a non-JSON one', async (t) => {
  const client = new KaliumClient({ baseUrl: api.url });
  const echo = await client.run('/echo?x=1', { text: 'hi' }, { headers: { 'x-test': 'yes' } });
  t.like(echo, { json: { text: 'hi' }, query: { x: '1' }, header: 'yes' });
  t.is(await client.run('/stream', {}), 'one two three');
});

test('a network failure is a network_error with status 0', async (t) => {
  const client = new KaliumClient({ baseUrl: 'http://127.0.0.1:9' });
  const error = await t.throwsAsync(client.run('/x', {}), { instanceOf: KaliumClientError });
  t.like(error, { code: 'network_error', status: 0 });
});

test('the api key goes as a bearer token, and paths resolve under a base URL with a path', async (t) => {
  const seen: Array<{ url: string; headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/kalium`;
  const client = new KaliumClient({ baseUrl: base, apiKey: 'sekret' });
  t.deepEqual(await client.run('/predict', { a: 1 }), { ok: true });
  await client.submit('/background', { b: 2 }, { webhook: { url: 'https://example.com/h', events: ['progress', 'succeeded'] }, idempotencyKey: 'k-1' });
  await client.get('job/1');
  t.deepEqual(seen.map((s) => s.url), ['/kalium/predict', '/kalium/background', '/kalium/jobs/job%2F1']);
  t.is(seen[0]!.headers.authorization, 'Bearer sekret');
  t.is(seen[0]!.headers['content-type'], 'application/json');
  t.is(seen[0]!.body, '{"a":1}');
  t.is(seen[1]!.headers['x-webhook-url'], 'https://example.com/h');
  t.is(seen[1]!.headers['x-webhook-events'], 'progress,succeeded');
  t.is(seen[1]!.headers['idempotency-key'], 'k-1');
});

test('the constructor refuses a base URL that is not absolute http(s)', (t) => {
  t.throws(() => new KaliumClient({ baseUrl: 'localhost:8000' }), { instanceOf: TypeError });
  t.throws(() => new KaliumClient({ baseUrl: 'ftp://host/' }), { instanceOf: TypeError });
  t.throws(() => new KaliumClient({ baseUrl: 'http://host', retry: { attempts: 0 } }), { instanceOf: TypeError });
});

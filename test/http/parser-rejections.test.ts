// SPEC §17 at the edge, over raw sockets: what Node's HTTP parser rejects, methods no route takes,
// Host rules and stalled requests all get kalium's JSON error shape with an X-Request-Id.
import test, { type ExecutionContext } from 'ava';
import app from '../fixtures/apps/edge-app.ts';
import { startInProcessApi } from '../helpers/in-process-api.ts';
import { scrape, sampleValue } from '../helpers/prometheus.ts';
import { rawRequest, type RawAnswer } from '../helpers/raw-http.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

let redis: RedisServer;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let port: number;
const HEADERS_TIMEOUT_MS = 600;
const REQUEST_TIMEOUT_MS = 1200;

test.before(async () => {
  redis = await startRedis();
  api = await startInProcessApi(app, {
    REDIS_URL: redis.url,
    HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  });
  port = Number(new URL(api.url).port);
});
test.after.always(async () => {
  await api?.close();
  await redis?.stop();
});

function assertKaliumError(t: ExecutionContext, answer: RawAnswer, status: number, code?: string): void {
  t.is(answer.status, status, answer.raw.slice(0, 300));
  t.false(answer.hung, 'answered, not held');
  t.regex(answer.headers['content-type'] ?? '', /application\/json/);
  const id = answer.headers['x-request-id'];
  t.truthy(id, 'X-Request-Id is set');
  const body = JSON.parse(answer.body) as { error: { code: string; message: string; request_id: string } };
  t.deepEqual(Object.keys(body), ['error']);
  t.is(body.error.request_id, id ?? "");
  t.true(body.error.message.length > 0);
  if (code) t.is(body.error.code, code);
}

const post = (headers: string, body = '{}') => `POST /sync HTTP/1.1\r\nHost: x\r\n${headers}\r\n${body}`;

const parserCases: Array<[string, string | Buffer, number]> = [
  ['a malformed Content-Length', post('Content-Type: application/json\r\nContent-Length: 1x\r\n'), 400],
  ['two different Content-Lengths', post('Content-Length: 2\r\nContent-Length: 3\r\n'), 400],
  ['Content-Length with Transfer-Encoding', post('Content-Length: 2\r\nTransfer-Encoding: chunked\r\n', '2\r\n{}\r\n0\r\n\r\n'), 400],
  ['a bad chunk size', post('Transfer-Encoding: chunked\r\n', 'zz\r\n{}\r\n0\r\n\r\n'), 400],
  ['a control byte in a header value', post('X-Bad: a\u0001b\r\nContent-Length: 2\r\n'), 400],
  ['a bad method token', 'GE(T / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
  ['a header name with a space', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n', 400],
  ['a bad HTTP version', 'GET /healthz HTTP/9.Z\r\nHost: x\r\n\r\n', 400],
  ['headers over 16 KB', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, 431],
  ['a request target over 16 KB', `GET /${'a'.repeat(17 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
  ['chunk extensions over 16 KB', post('Transfer-Encoding: chunked\r\n', `2;ext=${'a'.repeat(17 * 1024)}\r\n{}\r\n0\r\n\r\n`), 413],
];

for (const [name, request, status] of parserCases) {
  test(`the parser's rejection of ${name} is ${status} in kalium's shape`, async (t) => {
    assertKaliumError(t, await rawRequest(port, [request], { timeoutMs: 5000 }), status);
  });
}

test('a rejected request keeps the caller’s X-Request-Id when it is sane, and gets a new one when not', async (t) => {
  const kept = await rawRequest(port, [post('X-Request-Id: caller-7\r\nContent-Length: 1x\r\n')], { timeoutMs: 5000 });
  assertKaliumError(t, kept, 400);
  t.is(kept.headers['x-request-id'], 'caller-7');
  const replaced = await rawRequest(port, [post('X-Request-Id: <script>\r\nContent-Length: 1x\r\n')], { timeoutMs: 5000 });
  assertKaliumError(t, replaced, 400);
  t.regex(replaced.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
});

test('no Host in an HTTP/1.1 request is 400 in kalium’s shape', async (t) => {
  assertKaliumError(t, await rawRequest(port, ['GET /healthz HTTP/1.1\r\n\r\n'], { untilAnswered: true }), 400, 'bad_request');
});

test('two Host headers are 400 (RFC 9112), one is 200', async (t) => {
  const two = await rawRequest(port, ['GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n'], { untilAnswered: true });
  assertKaliumError(t, two, 400, 'bad_request');
  t.regex(JSON.parse(two.body).error.message, /more than one Host/);
  const one = await rawRequest(port, ['GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'], { untilAnswered: true });
  t.is(one.status, 200);
});

test('TRACE on a route is 405 with Allow, in kalium’s shape (not 501 plain text)', async (t) => {
  const answer = await rawRequest(port, ['TRACE /sync HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], { untilAnswered: true });
  assertKaliumError(t, answer, 405, 'method_not_allowed');
  t.is(answer.headers.allow, 'POST');
  const jobs = await rawRequest(port, ['PROPFIND /jobs/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], { untilAnswered: true });
  assertKaliumError(t, jobs, 405, 'method_not_allowed');
  t.regex(jobs.headers.allow ?? '', /GET/);
  const unknown = await rawRequest(port, ['TRACE /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], { untilAnswered: true });
  assertKaliumError(t, unknown, 404, 'not_found');
});

test('CONNECT is 405 with Allow in kalium’s shape, not a dropped connection', async (t) => {
  const answer = await rawRequest(port, ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'], { untilAnswered: true });
  assertKaliumError(t, answer, 405, 'method_not_allowed');
  t.regex(answer.headers.allow ?? '', /POST/);
});

test('an Expect other than 100-continue is 417 in kalium’s shape', async (t) => {
  const answer = await rawRequest(port, [post('Expect: teapot\r\nContent-Length: 2\r\n')], { untilAnswered: true });
  assertKaliumError(t, answer, 417, 'expectation_failed');
});

test('stalled headers get 408 in kalium’s shape soon after HEADERS_TIMEOUT_MS, not Node’s default minutes', async (t) => {
  const answer = await rawRequest(port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n'], { timeoutMs: 20_000 });
  assertKaliumError(t, answer, 408, 'request_timeout');
  t.true(answer.ms >= HEADERS_TIMEOUT_MS * 0.9 && answer.ms < HEADERS_TIMEOUT_MS * 10, `answered after ${answer.ms} ms`);
});

test('a body announced as 100 bytes that stalls after 10 gets 408 in kalium’s shape within REQUEST_TIMEOUT_MS (and a margin), keeping its request id', async (t) => {
  const answer = await rawRequest(
    port,
    ['POST /sync HTTP/1.1\r\nHost: x\r\nX-Request-Id: stalled-1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":"1234'],
    { timeoutMs: 20_000 },
  );
  assertKaliumError(t, answer, 408, 'request_timeout');
  t.is(answer.headers['x-request-id'], 'stalled-1');
  t.true(answer.ms >= REQUEST_TIMEOUT_MS * 0.9 && answer.ms < REQUEST_TIMEOUT_MS * 10, `answered after ${answer.ms} ms`);
});

test('HEAD and OPTIONS on a route answer without a 5xx', async (t) => {
  const head = await rawRequest(port, ['HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], { timeoutMs: 5000 });
  t.is(head.status, 200);
  const options = await rawRequest(port, ['OPTIONS /sync HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], { timeoutMs: 5000 });
  t.is(options.status, 200);
  t.is(options.headers.allow, 'POST');
});

test.serial('what the parser refuses is counted in kalium_http_requests_total under route "unparsed"', async (t) => {
  const counted = async () =>
    sampleValue(await scrape(`${api.url}/metrics`), 'kalium_http_requests_total', { route: 'unparsed', method: '', status: '431' }) ?? 0;
  const before = await counted();
  await rawRequest(port, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`], { timeoutMs: 5000 });
  await rawRequest(port, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`], { timeoutMs: 5000 });
  t.is((await counted()) - before, 2);
});

test('an idle keep-alive connection is not a stalled request: it outlives HEADERS_TIMEOUT_MS and serves the next request', async (t) => {
  const answer = await rawRequest(port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], {
    pauseMs: HEADERS_TIMEOUT_MS * 3,
    timeoutMs: 15_000,
  });
  t.is(answer.raw.match(/HTTP\/1\.1 200 OK/g)?.length, 2, answer.raw);
  t.notRegex(answer.raw, /HTTP\/1\.1 408/); // (not /408/: a request id may hold those digits)
});

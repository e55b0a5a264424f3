// Issue 11's edge answers: no stack on a 4xx even in development, /readyz says why it is not ready
// (logged once per change, not at error level per probe), and the dashboard's unknown paths and
// methods are 404/405 in kalium's shape.
import { Writable } from 'node:stream';
import test from 'ava';
import app from '../fixtures/apps/edge-app.ts';
import { loadConfig } from '../../libs/kalium/config/config.ts';
import { startApiServer } from '../../libs/kalium/http/api-server.ts';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { Runtime } from '../../libs/kalium/runtime/runtime.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

let redis: RedisServer;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(() => redis?.stop());

/** An in-process api whose log lines the test reads; `initialize` is the test's to call. */
async function apiWithLog(t: { teardown(fn: () => Promise<void>): void }, env: Record<string, string>) {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env });
  const runtime = new Runtime(app, config, createLogger({ level: 'info', destination }), { processMetrics: false });
  const api = await startApiServer(runtime);
  t.teardown(() => api.close());
  return { api, runtime, lines };
}

test('in development a 4xx body carries no stack; a 5xx does', async (t) => {
  const { api, runtime } = await apiWithLog(t, { REDIS_URL: redis.url, NODE_ENV: 'development' });
  await runtime.initialize();
  const bad = (await (await fetch(`${api.url}/sync`, { method: 'POST', body: '{', headers: { 'content-type': 'application/json' } })).json()) as {
    error: Record<string, unknown>;
  };
  t.is(bad.error.code, 'invalid_json');
  t.is(bad.error.stack, undefined);
  const missing = (await (await fetch(`${api.url}/nowhere`)).json()) as { error: Record<string, unknown> };
  t.is(missing.error.stack, undefined);
  const failed = (await (await fetch(`${api.url}/boom`, { method: 'POST' })).json()) as { error: Record<string, unknown> };
  t.is(failed.error.code, 'handler_error');
  t.regex(String(failed.error.stack), /the model fell over/);
});

test('/readyz 503 says why, and the change of state is logged once, not at error level per probe', async (t) => {
  const { api, runtime, lines } = await apiWithLog(t, { REDIS_URL: redis.url });
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${api.url}/readyz`);
    t.is(res.status, 503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    t.is(body.error.code, 'not_ready');
    t.regex(body.error.message, /init has not finished/);
  }
  await runtime.initialize();
  t.is((await fetch(`${api.url}/readyz`)).status, 200);
  redis.freeze();
  try {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${api.url}/readyz`);
      t.is(res.status, 503);
      t.regex(((await res.json()) as { error: { message: string } }).error.message, /Redis does not answer/);
    }
  } finally {
    redis.thaw();
  }
  t.is((await fetch(`${api.url}/readyz`)).status, 200);
  await new Promise((r) => setTimeout(r, 200)); // the logger writes asynchronously
  const readiness = lines.filter((line) => line.msg === 'not ready' || line.msg === 'ready');
  t.deepEqual(
    readiness.map((line) => [line.msg, line.reason ?? null]),
    [
      ['not ready', 'init has not finished'],
      ['ready', null],
      ['not ready', 'Redis does not answer'],
      ['ready', null],
    ],
  );
  t.deepEqual(lines.filter((line) => Number(line.level) >= 50), [], 'no error-level line');
});

test('unknown paths and methods under /admin/queues are 404/405 in kalium’s shape, not 500', async (t) => {
  const { api, runtime, lines } = await apiWithLog(t, { REDIS_URL: redis.url, NODE_ENV: 'development' });
  await runtime.initialize();
  t.is((await fetch(`${api.url}/admin/queues`)).status, 200);
  for (const [method, path, status] of [
    ['GET', '/admin/queues/api/nope', 404],
    ['GET', '/admin/queues/static/nope.js', 404],
    ['DELETE', '/admin/queues', 405],
    ['POST', '/admin/queues/api/queues', 405],
  ] as const) {
    const res = await fetch(api.url + path, { method });
    t.is(res.status, status, `${method} ${path}`);
    const body = (await res.json()) as { error: { code: string; request_id: string } };
    t.is(body.error.code, status === 404 ? 'not_found' : 'method_not_allowed', `${method} ${path}`);
    t.is(body.error.request_id, res.headers.get("x-request-id") ?? "");
    if (status === 405) t.truthy(res.headers.get('allow'));
  }
  t.deepEqual(lines.filter((line) => Number(line.level) >= 50), [], 'no error-level line');
});

import type Router from '@koa/router';
import test from 'ava';
import { Queue } from 'bullmq';
import app from '../fixtures/apps/gpu-app.ts';
import { loadConfig } from '../../libs/kalium/config/config.ts';
import { apiParts } from '../../libs/kalium/http/api-parts.ts';
import { startApiServer, type ApiServer } from '../../libs/kalium/http/api-server.ts';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { Runtime } from '../../libs/kalium/runtime/runtime.ts';
import { scrape, sampleValue } from '../helpers/prometheus.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

let redis: RedisServer;
let api: ApiServer & { runtime: Runtime };

test.before(async () => {
  redis = await startRedis();
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', REDIS_URL: redis.url });
  const runtime = new Runtime(app, config, createLogger({ level: 'silent' }), { processMetrics: false });
  // A part with a parameterised route, standing in for /jobs/:id: its label must be the pattern.
  const things = (router: Router) =>
    router.get('/things/:id', (ctx) => {
      ctx.body = { id: ctx.params.id };
    });
  const server = await startApiServer(runtime, [...apiParts(runtime), { routes: things }]);
  await runtime.initialize();
  api = Object.assign(server, { runtime });
});

test.after.always(async () => {
  await api?.close();
  await redis?.stop();
});

const post = (path: string, body: unknown = {}) =>
  fetch(api.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test.serial('requests are counted by route pattern, method and status, never by the raw path', async (t) => {
  const before = await scrape(`${api.url}/metrics`);
  const count = (samples: typeof before, labels: Record<string, string>) =>
    sampleValue(samples, 'kalium_http_requests_total', labels) ?? 0;

  for (const id of ['a1', 'b2', 'c3']) t.is((await fetch(`${api.url}/things/${id}`)).status, 200);
  t.is((await post('/echo', { x: 1 })).status, 200);
  t.is((await fetch(`${api.url}/echo`)).status, 200);
  t.is((await post('/teapot')).status, 418);
  const badJson = await fetch(`${api.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{oops' });
  t.is(badJson.status, 400);
  for (const junk of ['/scan/one', '/scan/two', '/wp-login.php']) t.is((await fetch(api.url + junk)).status, 404);
  t.is((await fetch(`${api.url}/things/x`, { method: 'DELETE' })).status, 405);

  const after = await scrape(`${api.url}/metrics`);
  t.is(count(after, { route: '/things/:id', method: 'GET', status: '200' }) - count(before, { route: '/things/:id', method: 'GET', status: '200' }), 3);
  t.is(count(after, { route: '/echo', method: 'GET', status: '200' }) - count(before, { route: '/echo', method: 'GET', status: '200' }), 1);
  t.is(count(after, { route: '/teapot', method: 'POST', status: '418' }) - count(before, { route: '/teapot', method: 'POST', status: '418' }), 1);
  t.is(count(after, { route: '/echo', method: 'POST', status: '400' }) - count(before, { route: '/echo', method: 'POST', status: '400' }), 1);
  t.is(count(after, { route: 'unmatched', method: 'GET', status: '404' }) - count(before, { route: 'unmatched', method: 'GET', status: '404' }), 3);
  t.is(count(after, { route: 'unmatched', method: 'DELETE', status: '405' }) - count(before, { route: 'unmatched', method: 'DELETE', status: '405' }), 1);

  const routes = new Set(after.filter((s) => s.name.startsWith('kalium_http_')).map((s) => s.labels.route));
  for (const raw of ['/things/a1', '/scan/one', '/wp-login.php']) t.false(routes.has(raw), `raw path ${raw} became a label`);

  const latency = (samples: typeof before) =>
    sampleValue(samples, 'kalium_http_request_duration_seconds_count', { route: '/things/:id', method: 'GET' }) ?? 0;
  t.is(latency(after) - latency(before), 3);
  const slowest = sampleValue(after, 'kalium_http_request_duration_seconds_bucket', { route: '/things/:id', method: 'GET', le: '+Inf' });
  t.is(slowest, latency(after));
});

test.serial('a 423 is counted with its route, and the lease wait and hold times are observed', async (t) => {
  const before = await scrape(`${api.url}/metrics`);
  t.is((await post('/slow', { ms: 50 })).status, 200);
  const hold = await api.runtime.lease.tryAcquire();
  t.truthy(hold);
  t.is((await post('/slow', { ms: 5 })).status, 423);
  await hold!.release();
  const after = await scrape(`${api.url}/metrics`);
  const delta = (name: string, labels: Record<string, string>) =>
    (sampleValue(after, name, labels) ?? 0) - (sampleValue(before, name, labels) ?? 0);
  t.is(delta('kalium_gpu_busy_total', { route: '/slow' }), 1);
  t.is(delta('kalium_http_requests_total', { route: '/slow', method: 'POST', status: '423' }), 1);
  t.is(delta('kalium_gpu_lease_hold_seconds_count', { role: 'api' }), 1);
  t.is(delta('kalium_gpu_lease_wait_seconds_count', { role: 'api' }), 1);
  // The handler sleeps 50 ms. A Node timer counts from the event loop's cached clock, which can be a
  // few ms behind the moment it is set, so the hold is checked with room (a 5 ms sleep once measured
  // under 5 ms on a busy machine).
  t.true(delta('kalium_gpu_lease_hold_seconds_sum', { role: 'api' }) >= 0.04);
});

test.serial('queue depth by state is read from BullMQ at each scrape, and dropped while Redis is away', async (t) => {
  const queue = new Queue('depth-test', { connection: { host: '127.0.0.1', port: redis.port }, prefix: api.runtime.keys.prefix });
  t.teardown(() => queue.close());
  api.runtime.queues.register(queue);
  await queue.add('a', {});
  await queue.add('b', {});
  await queue.add('c', {}, { delay: 60_000 });
  await queue.add('d', {}, { priority: 3 });

  let samples = await scrape(`${api.url}/metrics`);
  const depth = (state: string) => sampleValue(samples, 'kalium_queue_jobs', { queue: 'depth-test', state });
  t.is(depth('waiting'), 2);
  t.is(depth('delayed'), 1);
  t.is(depth('prioritized'), 1);
  t.is(depth('active'), 0);
  t.is(depth('failed'), 0);

  await queue.add('e', {});
  samples = await scrape(`${api.url}/metrics`);
  t.is(depth('waiting'), 3, 'counts are read at scrape time, not cached');

  await redis.kill();
  try {
    const started = Date.now();
    samples = await scrape(`${api.url}/metrics`);
    t.true(Date.now() - started < 10_000, 'a scrape answers while Redis is down');
    t.is(depth('waiting'), undefined, 'no stale backlog is reported while it cannot be read');
    t.truthy(samples.find((s) => s.name === 'kalium_http_requests_total'), 'the rest of the metrics still answer');
  } finally {
    await redis.restart();
  }
  // Once Redis is back, counts return (the kill lost the jobs: no AOF on this Redis).
  for (let i = 0; i < 100; i++) {
    samples = await scrape(`${api.url}/metrics`);
    if (depth('waiting') !== undefined) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.is(depth('waiting'), 0);
});

test.serial('/metrics answers Prometheus text with every kalium metric declared, all prefixed kalium_', async (t) => {
  const response = await fetch(`${api.url}/metrics`);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  for (const name of [
    'kalium_http_requests_total',
    'kalium_http_request_duration_seconds',
    'kalium_gpu_busy_total',
    'kalium_gpu_lease_wait_seconds',
    'kalium_gpu_lease_hold_seconds',
    'kalium_queue_jobs',
    'kalium_job_duration_seconds',
    'kalium_jobs_total',
    'kalium_cache_events_total',
    'kalium_webhook_deliveries_total',
  ]) {
    t.true(text.includes(`# TYPE ${name} `), `${name} is declared`);
  }
  for (const line of text.split('\n')) if (line.startsWith('# TYPE ')) t.regex(line, /^# TYPE kalium_/);
});

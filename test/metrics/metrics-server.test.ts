import test from 'ava';
import { Metrics } from '../../libs/kalium/metrics/metrics.ts';
import { startMetricsServer } from '../../libs/kalium/metrics/metrics-server.ts';
import { parseMetrics, sampleValue } from '../helpers/prometheus.ts';

test('the metrics server serves /metrics and /healthz, and refuses everything else', async (t) => {
  const metrics = new Metrics();
  const server = await startMetricsServer(metrics, { host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());

  metrics.jobs.inc({ route: '/background', outcome: 'succeeded' }, 2);
  const response = await fetch(`${server.url}/metrics`);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^text\/plain/);
  const samples = parseMetrics(await response.text());
  t.is(sampleValue(samples, 'kalium_jobs_total', { route: '/background', outcome: 'succeeded' }), 2);
  t.truthy(sampleValue(samples, 'kalium_process_resident_memory_bytes'), 'process metrics are on');

  const health = await fetch(`${server.url}/healthz`);
  t.is(health.status, 200);
  t.deepEqual(await health.json(), { status: 'ok' });

  const missing = await fetch(`${server.url}/jobs`);
  t.is(missing.status, 404);
  t.is(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
  const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
});

test('close stops the server even with a keep-alive connection open, and is idempotent', async (t) => {
  const server = await startMetricsServer(new Metrics({ processMetrics: false }), { host: '127.0.0.1', port: 0 });
  t.is((await fetch(`${server.url}/healthz`)).status, 200); // leaves a kept-alive socket behind
  await Promise.all([server.close(), server.close()]);
  await t.throwsAsync(fetch(`${server.url}/healthz`));
});

test('a metrics port already taken fails start-up with a message naming METRICS_PORT', async (t) => {
  const first = await startMetricsServer(new Metrics({ processMetrics: false }), { host: '127.0.0.1', port: 0 });
  t.teardown(() => first.close());
  const port = Number(new URL(first.url).port);
  await t.throwsAsync(startMetricsServer(new Metrics({ processMetrics: false }), { host: '127.0.0.1', port }), {
    message: new RegExp(`metrics port ${port} .* in use .*METRICS_PORT`),
  });
});

import { fileURLToPath } from 'node:url';
import test from 'ava';
import { startKalium } from '../helpers/kalium-process.ts';
import { freePort } from '../helpers/free-port.ts';
import { scrape, sampleValue } from '../helpers/prometheus.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';

const APP = fileURLToPath(new URL('../fixtures/apps/gpu-app.ts', import.meta.url));
const redis = redisForFile();

test('a worker serves /metrics and /healthz on METRICS_PORT, and closes it when it stops', async (t) => {
  const port = await freePort();
  const worker = await startKalium('worker', APP, { REDIS_URL: redis.url, METRICS_PORT: String(port) });
  t.teardown(() => worker.kill('SIGKILL').then(() => undefined));
  const listening = await worker.waitForLog((line) => line.msg === 'worker metrics listening');
  t.is(listening.url, `http://127.0.0.1:${port}`);
  t.is((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  const samples = await scrape(`http://127.0.0.1:${port}/metrics`);
  t.truthy(sampleValue(samples, 'kalium_process_resident_memory_bytes'), 'process metrics');
  t.truthy(samples.find((s) => s.name === 'kalium_nodejs_eventloop_lag_seconds'));

  t.is(await worker.kill('SIGTERM'), 0);
  await t.throwsAsync(fetch(`http://127.0.0.1:${port}/healthz`));
});

test('a second worker on a taken METRICS_PORT exits 1 saying so', async (t) => {
  const first = await startKalium('worker', APP, { REDIS_URL: redis.url });
  t.teardown(() => first.kill('SIGKILL').then(() => undefined));
  const { url } = await first.waitForLog((line) => line.msg === 'worker metrics listening');
  const port = new URL(String(url)).port;
  const error = await t.throwsAsync(startKalium('worker', APP, { REDIS_URL: redis.url, METRICS_PORT: port }));
  t.regex(error!.message, /exited \(1\)/);
  t.regex(error!.message, /METRICS_PORT/);
});

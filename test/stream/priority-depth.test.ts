// X-Priority and the queue's bounds (SPEC §14): QUEUE_MAX counts every level; /metrics shows depth per level.
import test from 'ava';
import app from '../fixtures/apps/stream-app.ts';
import { loadConfig } from '../../libs/kalium/config/config.ts';
import { apiParts } from '../../libs/kalium/http/api-parts.ts';
import { startApiServer, type ApiServer } from '../../libs/kalium/http/api-server.ts';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { Runtime } from '../../libs/kalium/runtime/runtime.ts';
import { scrape, sampleValue } from '../helpers/prometheus.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

let redis: RedisServer;
let api: ApiServer;

test.before(async () => {
  redis = await startRedis();
  // No worker: every job stays queued.
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', REDIS_URL: redis.url, QUEUE_MAX: '3' });
  const runtime = new Runtime(app, config, createLogger({ level: 'silent' }), { processMetrics: false });
  api = await startApiServer(runtime, apiParts(runtime));
  await runtime.initialize();
});

test.after.always(async () => {
  await api?.close();
  await redis?.stop();
});

const submit = (priority: string) =>
  fetch(`${api.url}/hold`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-priority': priority }, body: '{"ms":0}' });

test.serial('QUEUE_MAX counts the jobs of every priority; /metrics shows queued jobs per priority', async (t) => {
  for (const priority of ['high', 'normal', 'low']) t.is((await submit(priority)).status, 202);
  const samples = await scrape(`${api.url}/metrics`);
  for (const priority of ['high', 'normal', 'low']) {
    t.is(sampleValue(samples, 'kalium_queue_jobs_by_priority', { queue: 'jobs', priority }), 1, priority);
  }
  for (const priority of ['high', 'normal', 'low']) {
    const full = await submit(priority);
    t.is(full.status, 503, `a ${priority} job beyond QUEUE_MAX`);
    t.is(((await full.json()) as { error: { code: string } }).error.code, 'queue_full');
  }
});

// SPEC §4: Redis unreachable → 503 backend_unavailable within a second, never a hang; the process keeps
// running and recovers by itself when Redis is back.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { startKalium } from '../helpers/kalium-process.ts';
import { startRedis } from '../helpers/redis-server.ts';

test('with Redis down a gpu handler answers 503 backend_unavailable fast, gpu=false routes still answer, and all recovers', async (t) => {
  const redis = await startRedis();
  const api = await startKalium('api', 'test/fixtures/apps/gpu-app.ts', { REDIS_URL: redis.url });
  t.teardown(async () => {
    await api.kill('SIGKILL');
    await redis.stop();
  });
  const post = (path: string) => fetch(api.url + path, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  t.is((await post('/slow')).status, 200);

  await redis.kill();
  for (let i = 0; i < 3; i++) {
    const started = Date.now();
    const res = await post('/slow');
    const took = Date.now() - started;
    t.is(res.status, 503);
    t.is(((await res.json()) as any).error.code, 'backend_unavailable');
    t.truthy(res.headers.get('retry-after'));
    t.true(took < 1500, `answered in ${took} ms`);
  }
  t.is((await post('/free')).status, 200, 'a route that needs no Redis keeps answering');
  t.is((await fetch(`${api.url}/readyz`)).status, 503);
  t.is((await fetch(`${api.url}/healthz`)).status, 200);

  await redis.restart();
  let status = 0;
  for (let i = 0; i < 100 && status !== 200; i++) {
    status = (await post('/slow')).status;
    if (status !== 200) await sleep(100);
  }
  t.is(status, 200, 'the api reconnected by itself');
  t.is((await fetch(`${api.url}/readyz`)).status, 200);
  t.is(api.child.exitCode, null, 'the process kept running');
});

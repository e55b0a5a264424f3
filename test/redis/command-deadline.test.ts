// A hung Redis (the process stopped, its connections still open: no error, no close) must not hang
// the api: a command connection fails what it has pending once Redis has answered nothing for a
// second, and works again once Redis does.
import test from 'ava';
import { createRedis, closeRedis, whenReady } from '../../libs/kalium/redis/connection.ts';
import { startKalium } from '../helpers/kalium-process.ts';
import { JOBS_APP } from '../helpers/job-stack.ts';
import { startRedis } from '../helpers/redis-server.ts';

test('a command connection fails its pending commands after ≈ 1 s of silence, then recovers', async (t) => {
  const redis = await startRedis();
  const connection = createRedis(redis.url, 'command');
  try {
    await whenReady(connection, 5000);
    t.is(await connection.ping(), 'PONG');
    redis.freeze();
    const sent = Date.now();
    const outcomes = await Promise.allSettled([connection.get('a'), connection.set('b', '1')]);
    const waited = Date.now() - sent;
    for (const outcome of outcomes) {
      t.is(outcome.status, 'rejected');
      t.regex(((outcome as PromiseRejectedResult).reason as Error).message, /timed out/);
    }
    t.true(waited >= 900 && waited < 2500, `failed after ${waited} ms`);
    redis.thaw();
    t.is(await connection.ping(), 'PONG');
  } finally {
    redis.thaw();
    await closeRedis(connection);
    await redis.stop();
  }
});

test('against a hung Redis the api answers 503 backend_unavailable within ≈ 1 s: a job status, a route reading app.store', async (t) => {
  const redis = await startRedis();
  const api = await startKalium('api', JOBS_APP, { REDIS_URL: redis.url });
  try {
    const submitted = await fetch(`${api.url}/gpu`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ms":1}' });
    const { id } = (await submitted.json()) as { id: string };
    redis.freeze();
    const sent = Date.now();
    const response = await fetch(`${api.url}/jobs/${id}`);
    const waited = Date.now() - sent;
    t.is(response.status, 503);
    t.is(((await response.json()) as { error: { code: string } }).error.code, 'backend_unavailable');
    t.true(waited < 2500, `answered after ${waited} ms`);
    // app.store has no deadline of its own: only the connection's watchdog stands between it and a hang.
    const storeSent = Date.now();
    const stored = await fetch(`${api.url}/result`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id }) });
    const storeWaited = Date.now() - storeSent;
    t.is(stored.status, 503);
    t.is(stored.headers.get('retry-after'), '1');
    t.is(((await stored.json()) as { error: { code: string } }).error.code, 'backend_unavailable');
    t.true(storeWaited < 2500, `answered after ${storeWaited} ms`);
    redis.thaw();
    t.is((await fetch(`${api.url}/jobs/${id}`)).status, 200, 'answers again once Redis does');
  } finally {
    redis.thaw();
    await api.kill('SIGKILL');
    await redis.stop();
  }
});

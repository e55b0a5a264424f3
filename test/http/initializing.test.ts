// SPEC §4: until init has run, gpu routes answer 503 `initializing` with Retry-After, saying so.
import test from 'ava';
import { resolve } from 'node:path';
import { startKalium } from '../helpers/kalium-process.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';

const redis = redisForFile();

test('a request while init runs gets 503 initializing with its message and Retry-After, logged as a warning', async (t) => {
  const api = await startKalium('api', resolve('test/fixtures/apps/slow-init-app.ts'), { REDIS_URL: redis.url, NODE_ENV: 'development' }, {
    readyLog: 'api listening',
    skipInitWait: true,
  });
  t.teardown(() => void api.kill('SIGKILL'));
  const res = await fetch(api.url, { method: 'POST' });
  t.is(res.status, 503);
  t.is(res.headers.get('retry-after'), '1');
  const { error } = (await res.json()) as { error: { code: string; message: string; stack?: string } };
  t.is(error.code, 'initializing');
  t.is(error.message, 'The app is still loading its model; retry shortly.');
  t.false(api.logs.some((line) => line.level === 50), 'an expected condition is not an error-level line');
  await api.waitForLog((line) => line.msg === 'init finished');
  t.deepEqual(await (await fetch(api.url, { method: 'POST' })).json(), { loaded: true });
});

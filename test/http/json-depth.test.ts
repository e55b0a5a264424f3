// SPEC §17: JSON of any nesting the body parser accepts never yields a 5xx. Past MAX_JSON_DEPTH every
// route answers 400 invalid_json alike; up to it, every route takes the body.
import test from 'ava';
import app from '../fixtures/apps/edge-app.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../libs/kalium/http/json-depth.ts';
import { startInProcessApi } from '../helpers/in-process-api.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

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

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const post = (path: string, body: string, type = 'application/json') =>
  fetch(api.url + path, { method: 'POST', body, headers: { 'content-type': type } });

for (const path of ['/sync', '/cached', '/bg']) {
  test(`${path}: 2,500 and 100,000 levels of nested JSON are 400 invalid_json, not a 5xx`, async (t) => {
    for (const body of [nested(2500), nestedObjects(2500), nested(100_000)]) {
      const res = await post(path, body);
      t.is(res.status, 400);
      const answer = (await res.json()) as { error: { code: string; message: string } };
      t.is(answer.error.code, 'invalid_json');
      t.regex(answer.error.message, new RegExp(`deeper than ${MAX_JSON_DEPTH}`));
    }
  });

  test(`${path}: JSON nested exactly MAX_JSON_DEPTH deep is taken`, async (t) => {
    const res = await post(path, nestedObjects(MAX_JSON_DEPTH));
    t.true(res.status === 200 || res.status === 202, `status ${res.status}`);
  });
}

test('a deep body without a JSON content type is kept as raw bytes, not parsed, and answers 2xx', async (t) => {
  const res = await post('/cached', nested(2500), 'text/plain');
  t.is(res.status, 200);
  t.deepEqual(await res.json(), { kind: 'undefined' });
});

test('the depth scan skips brackets inside strings and escaped quotes', (t) => {
  const inString = Buffer.from(JSON.stringify({ s: `\\"${'['.repeat(5000)}` }));
  t.false(nestsDeeperThan(inString, 10));
  t.true(nestsDeeperThan(Buffer.from(nested(11)), 10));
  t.false(nestsDeeperThan(Buffer.from(nested(10)), 10));
  t.false(nestsDeeperThan(Buffer.from(`[${'[1],'.repeat(50)}[1]]`), 2));
});

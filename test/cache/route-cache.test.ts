// The response cache on handler routes, over HTTP, against one in-process api and a real Redis.
// Tests use distinct `tag`s in their bodies, so their entries and run counts stay apart.
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import type { Redis } from 'ioredis';
import { createCacheApp } from '../fixtures/cache-app.ts';
import { startInProcessApi } from '../helpers/in-process-api.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { waitReady } from '../helpers/wait-ready.ts';

let redis: RedisServer;
let raw: Redis;
let api: Awaited<ReturnType<typeof startInProcessApi>>;
let counter: Redis;

const PREFIX = '{kalium:cachefixture}';

test.before(async () => {
  redis = await startRedis();
  raw = redis.client();
  const fixture = createCacheApp(redis.url);
  counter = fixture.counter;
  api = await startInProcessApi(fixture.app, { REDIS_URL: redis.url, KALIUM_LEASE_TTL_MS: '1000' });
  await waitReady(api.url);
});

test.after.always(async () => {
  await api?.close();
  counter?.disconnect();
  await redis?.stop();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(api.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/**
 * A conditional POST through node:http: fetch() adds `Cache-Control: no-cache` to any request carrying
 * If-None-Match (per the Fetch standard), which would make every one of them recompute.
 */
function conditionalPost(path: string, body: unknown, ifNoneMatch: string): Promise<{ status: number; headers: Record<string, string>; text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(api.url + path, { method: 'POST', headers: { 'content-type': 'application/json', 'if-none-match': ifNoneMatch } }, (incoming) => {
      let text = '';
      incoming.on('data', (chunk: Buffer) => (text += chunk.toString()));
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers as Record<string, string>, text }));
    });
    outgoing.on('error', reject);
    outgoing.end(JSON.stringify(body));
  });
}

async function runs(route: string, tag: string): Promise<number> {
  return Number((await raw.get(`runs:${route}:${tag}`)) ?? 0);
}

async function until(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(25);
  }
}

async function valueKeys(route: string): Promise<string[]> {
  return raw.keys(`${PREFIX}:cache:route:v:${route}:*`);
}

async function cacheEvents(route: string): Promise<Record<string, number>> {
  const { values } = await api.runtime.metrics.cache.get();
  return Object.fromEntries(values.filter((v) => v.labels.route === route).map((v) => [String(v.labels.event), v.value]));
}

test('a miss runs the handler and stores the answer; the same request then hits, with the same body and ETag', async (t) => {
  const miss = await post('/free', { tag: 'basic' });
  t.is(miss.status, 200);
  t.is(miss.headers.get('x-cache'), 'MISS');
  t.is(miss.headers.get('x-endpoint-type'), 'handler');
  t.regex(miss.headers.get('etag') ?? '', /^"[\w-]{16,}"$/, 'a quoted strong tag');
  t.is(miss.headers.get('cache-control'), 'max-age=60');
  t.regex(miss.headers.get('content-type') ?? '', /^application\/json/);
  const missBody = await miss.text();
  t.deepEqual(JSON.parse(missBody), { run: 1 });

  const hit = await post('/free', { tag: 'basic' });
  t.is(hit.status, 200);
  t.is(hit.headers.get('x-cache'), 'HIT');
  t.is(hit.headers.get('etag'), miss.headers.get('etag'));
  t.regex(hit.headers.get('cache-control') ?? '', /^max-age=(59|60)$/);
  t.regex(hit.headers.get('content-type') ?? '', /^application\/json/);
  t.is(await hit.text(), missBody);
  t.is(await runs('/free', 'basic'), 1);
});

test('the key is the route plus a canonical hash of the body (and query); key(request) replaces it', async (t) => {
  await post('/free', { tag: 'canon', a: 1, b: [1, { c: 2, d: 3 }] });
  const reordered = await post('/free', '{ "b": [1, {"d": 3, "c": 2}], "a": 1, "tag": "canon" }');
  t.is(reordered.headers.get('x-cache'), 'HIT', 'same JSON, other key order and spacing');
  const other = await post('/free', { tag: 'canon', a: 2, b: [1, { c: 2, d: 3 }] });
  t.is(other.headers.get('x-cache'), 'MISS');
  t.is(await runs('/free', 'canon'), 2);

  const onOtherRoute = await post('/plain', { tag: 'canon', a: 1, b: [1, { c: 2, d: 3 }] });
  t.is(onOtherRoute.headers.get('x-cache'), 'MISS', 'routes do not share entries');

  const q1 = await fetch(`${api.url}/query?tag=q&x=1`);
  const q2 = await fetch(`${api.url}/query?x=2&tag=q`);
  const q1again = await fetch(`${api.url}/query?x=1&tag=q`);
  t.deepEqual([q1.headers.get('x-cache'), q2.headers.get('x-cache'), q1again.headers.get('x-cache')], ['MISS', 'MISS', 'HIT']);
  t.deepEqual((await q1again.json()).query, { tag: 'q', x: '1' });
  const head = await fetch(`${api.url}/query?tag=q&x=1`, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.headers.get('x-cache'), 'HIT', 'HEAD shares GET\'s entry');
  t.is(await runs('/query', 'q'), 2);

  const ann = await post('/keyed', { tag: 'k', user: 'ann', extra: 1 });
  const annAgain = await post('/keyed', { tag: 'k', user: 'ann', extra: 2 });
  const bob = await post('/keyed', { tag: 'k', user: 'bob', extra: 1 });
  t.deepEqual([ann.headers.get('x-cache'), annAgain.headers.get('x-cache'), bob.headers.get('x-cache')], ['MISS', 'HIT', 'MISS']);
  t.is(await runs('/keyed', 'k'), 2);

  const badKey = await post('/badkey', { tag: 'k' });
  t.is(badKey.status, 500);
  t.is((await badKey.json()).error.code, 'handler_error');
});

test('max-age counts down the seconds left, and the entry expires with its ttl', async (t) => {
  const miss = await post('/short', { tag: 'ttl' });
  t.is(miss.headers.get('cache-control'), 'max-age=2');
  await sleep(1100);
  const hit = await post('/short', { tag: 'ttl' });
  t.is(hit.headers.get('x-cache'), 'HIT');
  t.regex(hit.headers.get('cache-control') ?? '', /^max-age=[01]$/);
  await until(async () => (await valueKeys('/short')).length === 0);
  const again = await post('/short', { tag: 'ttl' });
  t.is(again.headers.get('x-cache'), 'MISS');
  t.deepEqual(await again.json(), { run: 2 });
});

test('If-None-Match with the tag, a list holding it, its weak form or * gets 304 without a body', async (t) => {
  const first = await post('/free', { tag: 'inm' });
  const etag = first.headers.get('etag')!;
  for (const header of [etag, `"nope", ${etag}`, `W/${etag}`, `W/"a,b", W/${etag}`, '*']) {
    const response = await conditionalPost('/free', { tag: 'inm' }, header);
    t.is(response.status, 304, header);
    t.is(response.text, '', header);
    t.is(response.headers.etag, etag, header);
    t.is(response.headers['x-cache'], 'HIT', header);
    t.regex(response.headers['cache-control'] ?? '', /^max-age=\d+$/);
  }
  for (const header of ['"nope"', 'W/"nope", "other"', etag.slice(1, -1)]) {
    const response = await conditionalPost('/free', { tag: 'inm' }, header);
    t.is(response.status, 200, header);
    t.deepEqual(JSON.parse(response.text), { run: 1 });
  }
  // A miss computes, stores, and still answers 304 when the client's tag matches what it computed.
  const star = await conditionalPost('/free', { tag: 'inm-miss' }, '*');
  t.is(star.status, 304);
  t.is(star.headers['x-cache'], 'MISS');
  t.is(await runs('/free', 'inm-miss'), 1);
  t.is((await post('/free', { tag: 'inm-miss' })).headers.get('x-cache'), 'HIT');
  t.is(await runs('/free', 'inm'), 1);
});

test("Cache-Control: no-cache recomputes for that request only; concurrent requests are still served from the cache", async (t) => {
  await post('/free', { tag: 'nc', ms: 200 });
  const requests = Array.from({ length: 40 }, (_, i) => {
    const noCache = i % 4 === 0;
    return post('/free', { tag: 'nc', ms: 200 }, noCache ? { 'cache-control': 'no-cache' } : {}).then(async (response) => ({
      noCache,
      cache: response.headers.get('x-cache'),
      status: response.status,
      body: (await response.json()) as { run: number },
    }));
  });
  const answers = await Promise.all(requests);
  for (const answer of answers) t.is(answer.status, 200);
  t.deepEqual(new Set(answers.filter((a) => a.noCache).map((a) => a.cache)), new Set(['MISS']));
  t.deepEqual(new Set(answers.filter((a) => !a.noCache).map((a) => a.cache)), new Set(['HIT']));
  t.is(await runs('/free', 'nc'), 1 + 10, 'each no-cache request ran the model, no other did');
  const latest = (await (await post('/free', { tag: 'nc', ms: 200 })).json()) as { run: number };
  t.true(latest.run > 1, 'a no-cache request stores what it computed');
  t.is(await runs('/free', 'nc'), 11);
});

test('a hit is served while the GPU lease is held elsewhere, without touching the lease', async (t) => {
  const warm = await post('/gpu', { tag: 'busy' });
  t.is(warm.status, 200);
  const lease = `${PREFIX}:gpu:default`;
  await raw.set(lease, 'another process', 'PX', 30_000);
  t.teardown(() => raw.del(lease).then(() => undefined));

  const hit = await post('/gpu', { tag: 'busy' });
  t.is(hit.status, 200);
  t.is(hit.headers.get('x-cache'), 'HIT');
  t.deepEqual(await hit.json(), { run: 1 });
  t.is(await raw.get(lease), 'another process', 'the lease was not touched');
  const pttl = await raw.pttl(lease);
  t.true(pttl > 25_000, 'nor renewed');

  const miss = await post('/gpu', { tag: 'busy', other: true });
  t.is(miss.status, 423, 'a miss needs the GPU');
  t.is((await miss.json()).error.code, 'gpu_busy');
  t.is(await runs('/gpu', 'busy'), 1);
});

test('only 2xx JSON or bytes answers are stored: not errors, not streams, not answers setting cookies', async (t) => {
  for (const route of ['/missing', '/cookie', '/stream', '/boom']) {
    const first = await post(route, { tag: 'store' });
    const second = await post(route, { tag: 'store' });
    t.is(second.headers.get('x-cache'), first.status === 500 ? null : 'MISS', route);
    t.is(second.headers.get('etag'), null, route);
    t.is(await runs(route, 'store'), 2, `${route} ran twice`);
    t.is((await valueKeys(route)).length, 0, route);
    if (route === '/stream') t.is(await second.text(), 'one two');
    if (route === '/missing') t.is(second.status, 404);
    if (route === '/boom') t.is((await second.json()).error.code, 'handler_error');
  }
  const bytes = await post('/bytes', { tag: 'store' });
  const bytesAgain = await post('/bytes', { tag: 'store' });
  t.is(bytesAgain.headers.get('x-cache'), 'HIT');
  t.is(bytesAgain.headers.get('content-type'), 'image/png');
  t.deepEqual(Buffer.from(await bytesAgain.arrayBuffer()), Buffer.from(await bytes.arrayBuffer()));
  t.deepEqual([...Buffer.from(await (await post('/bytes', { tag: 'store' })).arrayBuffer())], [0x89, 0x50, 0x4e, 0x47, 0, 255]);
});

test('bad input gets a 4xx and changes nothing', async (t) => {
  const response = await post('/plain', '{"tag": "bad",');
  t.is(response.status, 400);
  t.is((await response.json()).error.code, 'invalid_json');
  t.is(await runs('/plain', 'bad'), 0);
  t.deepEqual(await valueKeys('/plain'), []);
  t.deepEqual(await raw.keys(`${PREFIX}:cache:route:l:/plain:*`), []);
});

test('refresh-ahead: a hit close to expiry recomputes in the background, so the entry never falls out', async (t) => {
  const first = await post('/refresh', { tag: 'hot' });
  t.deepEqual(await first.json(), { run: 1 });
  const [key] = await valueKeys('/refresh');
  t.truthy(key);
  await until(async () => (await raw.pttl(key!)) < 1900);
  const hits = await Promise.all(Array.from({ length: 10 }, () => post('/refresh', { tag: 'hot' })));
  for (const hit of hits) {
    t.is(hit.headers.get('x-cache'), 'HIT');
    t.deepEqual(await hit.json(), { run: 1 }, 'answered at once with what was cached');
  }
  await until(async () => ((await (await post('/refresh', { tag: 'hot' })).json()) as { run: number }).run === 2);
  t.true((await raw.pttl(key!)) > 2000, 'the entry got a fresh ttl before it expired');
  await sleep(500);
  t.is(await runs('/refresh', 'hot'), 2, 'refreshed once');
  t.true((await cacheEvents('/refresh')).refresh! >= 1);
});

test('metrics count hits, misses, waits and lock timeouts per route', async (t) => {
  const before = await cacheEvents('/metered');
  // A waiter that gets the value: the first request computes for 1.5 s (inside lockTimeoutMs,
  // and long enough that the second request arrives while it runs, even on a loaded machine), the second waits for it.
  const computing = post('/metered', { tag: 'm1', ms: 1500 });
  await until(async () => (await runs('/metered', 'm1')) === 1);
  const waiter = await post('/metered', { tag: 'm1', ms: 1500 });
  t.is(waiter.headers.get('x-cache'), 'HIT');
  t.is((await computing).headers.get('x-cache'), 'MISS');
  t.is((await post('/metered', { tag: 'm1', ms: 1500 })).headers.get('x-cache'), 'HIT');
  // A waiter that gives up: the computation takes longer than lockTimeoutMs (2 s), so it computes too.
  const slow = post('/metered', { tag: 'm2', ms: 4000 });
  await until(async () => (await runs('/metered', 'm2')) === 1);
  const impatient = await post('/metered', { tag: 'm2', ms: 4000 });
  t.is(impatient.headers.get('x-cache'), 'MISS');
  await slow;
  t.is(await runs('/metered', 'm2'), 2);

  const after = await cacheEvents('/metered');
  const delta = (event: string) => (after[event] ?? 0) - (before[event] ?? 0);
  t.deepEqual(
    { hit: delta('hit'), miss: delta('miss'), wait: delta('wait'), lock_timeout: delta('lock_timeout') },
    { hit: 1, miss: 3, wait: 1, lock_timeout: 1 },
  );
});

test('app.cache inside a handler caches under the app\'s prefix; before the app runs it says so', async (t) => {
  const first = await post('/direct', { tag: 'direct', word: 'tea' });
  const second = await post('/direct', { tag: 'direct', word: 'tea' });
  t.deepEqual(await first.json(), { upper: 'TEA' });
  t.deepEqual(await second.json(), { upper: 'TEA' });
  t.is(await runs('/direct', 'direct'), 1);
  t.is(await raw.get(`${PREFIX}:cache:app:v:upper:tea`), '"TEA"');
  const unstarted = createCacheApp(redis.url);
  t.teardown(() => unstarted.counter.disconnect());
  t.throws(() => unstarted.app.cache, { message: /available once the app runs/ });
});

import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { Cache } from 'kalium';
import type { Redis } from 'ioredis';
import { CacheEngine } from '../../libs/kalium/cache/cache-engine.ts';
import { createRedis, closeRedis } from '../../libs/kalium/redis/connection.ts';
import { cacheKeys } from '../../libs/kalium/redis/keys.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

let redis: RedisServer;
let raw: Redis;
const caches: Cache[] = [];

test.before(async () => {
  redis = await startRedis();
  raw = redis.client();
});

test.after.always(async () => {
  await Promise.all(caches.map((cache) => cache.close()));
  await redis?.stop();
});

/** A Cache under a prefix of its own, so tests in this file run side by side. */
function cacheOn(url: string, options: ConstructorParameters<typeof Cache>[0] & object = {}): Cache {
  const cache = new Cache({ url, ...options });
  caches.push(cache);
  return cache;
}

function freshPrefix(): string {
  return `t-${randomUUID()}:`;
}

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

test('get, set and delete keep JSON values for ttl seconds', async (t) => {
  const prefix = freshPrefix();
  const cache = cacheOn(redis.url, { prefix });
  t.is(await cache.get('missing'), undefined);
  await cache.set('greeting', { text: 'hi', n: [1, 2] }, { ttl: 5 });
  t.deepEqual(await cache.get('greeting'), { text: 'hi', n: [1, 2] });
  const pttl = await raw.pttl(`${prefix}v:greeting`);
  t.true(pttl > 0 && pttl <= 5000, `PTTL ${pttl}`);
  await cache.delete('greeting');
  t.is(await cache.get('greeting'), undefined);
});

test('bad arguments are refused with a message that says what was expected', async (t) => {
  const cache = cacheOn(redis.url, { prefix: freshPrefix() });
  await t.throwsAsync(cache.set('k', 1, { ttl: 0 }), { instanceOf: TypeError, message: /ttl must be a whole number of seconds/ });
  await t.throwsAsync(cache.set('', 1, { ttl: 1 }), { instanceOf: TypeError, message: /keys must be non-empty/ });
  await t.throwsAsync(cache.set('k', undefined, { ttl: 1 }), { instanceOf: TypeError, message: /must be JSON/ });
  await t.throwsAsync(cache.wrap('k', 'nope' as never, { ttl: 1 }), { instanceOf: TypeError, message: /takes a function/ });
  await t.throwsAsync(cache.wrap('k', () => 1, { ttl: 1, lockTimeoutMs: -1 }), { message: /lockTimeoutMs must be an integer >= 0/ });
  t.throws(() => new Cache({ url: redis.url, lockTtlMs: 10 }), { message: /lockTtlMs must be an integer >= 100, got 10/ });
  t.is(await cache.get('k'), undefined, 'nothing was stored');
});

test('wrap computes a missing value once across two replicas while the other callers wait for it', async (t) => {
  const prefix = freshPrefix();
  const replicas = [cacheOn(redis.url, { prefix }), cacheOn(redis.url, { prefix })];
  let runs = 0;
  const compute = async () => {
    runs += 1;
    await sleep(300);
    return { answer: 42 };
  };
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) => replicas[i % 2]!.wrap('answer', compute, { ttl: 60, lockTimeoutMs: 20_000 })),
  );
  t.is(runs, 1);
  for (const result of results) t.deepEqual(result, { answer: 42 });
  t.deepEqual(await replicas[1]!.get('answer'), { answer: 42 });
});

// atomcache subscribed after reading, so a value stored and announced in between was never seen. Here
// the waiter subscribes, then re-reads. The subscriber factory runs exactly in that window (after the
// waiter found the lock held, before it subscribes), so the test can store the value there.
for (const announced of [false, true]) {
  test(`a waiter arriving after the value was stored${announced ? ' and announced' : ' but before it was announced'} still gets it`, async (t) => {
    const keys = cacheKeys(freshPrefix());
    const command = createRedis(redis.url, 'command');
    let subscriber: Redis | undefined;
    const engine = new CacheEngine({
      redis: command,
      subscriber: async () => {
        await raw.set(keys.value('k'), 'stored meanwhile', 'PX', 60_000);
        if (announced) await raw.publish(keys.filled, keys.value('k'));
        subscriber = createRedis(redis.url, 'blocking');
        return subscriber;
      },
      keys,
      lockTtlMs: 5000,
      pollMs: 60_000, // no polling to the rescue: only the re-read can find it
      onError: (error) => {
        throw error;
      },
    });
    t.teardown(async () => {
      engine.close();
      await closeRedis(command);
      if (subscriber) await closeRedis(subscriber);
    });
    await raw.set(keys.lock('k'), 'another computer', 'PX', 60_000);
    if (command.status !== 'ready') await once(command, 'ready');

    const started = Date.now();
    let computed = false;
    const fetched = await engine.fetch(
      'k',
      async () => {
        computed = true;
        return { result: 'mine' };
      },
      { ttlMs: 60_000, lockTimeoutMs: 30_000 },
    );
    t.is(fetched.source, 'wait');
    t.is(fetched.source !== 'computed' && fetched.entry.value.toString(), 'stored meanwhile');
    t.false(computed);
    t.true(Date.now() - started < 10_000, 'found by the re-read, not by a timeout');
  });
}

test('a waiter is woken by the fill notice (no polling), and nothing touches the server config', async (t) => {
  const prefix = freshPrefix();
  const keys = cacheKeys(prefix);
  const waiterCache = cacheOn(redis.url, { prefix, pollMs: 60_000 });
  const other = cacheOn(redis.url, { prefix });
  await raw.set(keys.lock('k'), 'another computer', 'PX', 60_000);

  let computed = false;
  const waiting = waiterCache.wrap(
    'k',
    () => {
      computed = true;
      return 'mine';
    },
    { ttl: 60, lockTimeoutMs: 30_000 },
  );
  await until(async () => ((await raw.pubsub('NUMSUB', keys.filled)) as [string, number])[1] >= 1);
  await sleep(100);
  const filledAt = Date.now();
  await other.set('k', 'theirs', { ttl: 60 });
  t.is(await waiting, 'theirs');
  t.false(computed);
  t.true(Date.now() - filledAt < 5000, 'woken by the notice');
  t.deepEqual(await raw.config('GET', 'notify-keyspace-events'), ['notify-keyspace-events', '']);
});

test('a computer whose lock lapsed and was taken by another does not release the other\'s lock', async (t) => {
  const prefix = freshPrefix();
  const keys = cacheKeys(prefix);
  const cache = cacheOn(redis.url, { prefix });
  const value = await cache.wrap(
    'k',
    async () => {
      // As if our lock had expired and another replica had taken it.
      await raw.set(keys.lock('k'), 'the other computer', 'PX', 60_000);
      return 'ours';
    },
    { ttl: 60 },
  );
  t.is(value, 'ours');
  t.is(await raw.get(keys.lock('k')), 'the other computer');
  t.is(await cache.get('k'), 'ours', 'the value is still stored');
});

test('the lock of a computer that died frees by its TTL, and a waiter computes', async (t) => {
  const prefix = freshPrefix();
  const keys = cacheKeys(prefix);
  const cache = cacheOn(redis.url, { prefix });
  // A lock nobody renews: its holder is gone.
  const started = Date.now();
  await raw.set(keys.lock('k'), 'dead computer', 'PX', 500);
  let runs = 0;
  const value = await cache.wrap('k', () => ++runs, { ttl: 60, lockTimeoutMs: 30_000 });
  const elapsed = Date.now() - started;
  t.is(value, 1);
  t.is(runs, 1);
  t.true(elapsed >= 450, `waited for the TTL (${elapsed} ms)`);
  t.true(elapsed < 15_000, `computed once the lock lapsed, long before lockTimeoutMs (${elapsed} ms)`);
});

test('a computer renews its lock while it computes, so a slow computation is not run twice', async (t) => {
  const prefix = freshPrefix();
  const replicas = [cacheOn(redis.url, { prefix, lockTtlMs: 1000 }), cacheOn(redis.url, { prefix, lockTtlMs: 1000 })];
  let runs = 0;
  const slow = async () => {
    runs += 1;
    await sleep(3000); // three lock TTLs
    return 'done';
  };
  const first = replicas[0]!.wrap('k', slow, { ttl: 60, lockTimeoutMs: 30_000 });
  await until(async () => runs === 1);
  const second = await replicas[1]!.wrap('k', slow, { ttl: 60, lockTimeoutMs: 30_000 });
  t.is(second, 'done');
  t.is(await first, 'done');
  t.is(runs, 1);
});

test('waiters give up after lockTimeoutMs and compute themselves', async (t) => {
  const prefix = freshPrefix();
  const keys = cacheKeys(prefix);
  const cache = cacheOn(redis.url, { prefix });
  await raw.set(keys.lock('k'), 'a very slow computer', 'PX', 60_000);
  const started = Date.now();
  t.is(await cache.wrap('k', () => 'computed anyway', { ttl: 60, lockTimeoutMs: 300 }), 'computed anyway');
  t.true(Date.now() - started >= 290);
  t.is(await cache.get('k'), 'computed anyway', 'and stored it');
});

test('a failed computation stores nothing, and the next waiter takes its turn', async (t) => {
  const cache = cacheOn(redis.url, { prefix: freshPrefix() });
  let runs = 0;
  const compute = async () => {
    runs += 1;
    await sleep(200);
    if (runs === 1) throw new Error('model failed');
    return 'second try';
  };
  const first = cache.wrap('k', compute, { ttl: 60 });
  await until(async () => runs === 1);
  const second = cache.wrap('k', compute, { ttl: 60 });
  await t.throwsAsync(first, { message: 'model failed' });
  t.is(await second, 'second try');
  t.is(runs, 2);
});

test('undefined is returned but not stored', async (t) => {
  const cache = cacheOn(redis.url, { prefix: freshPrefix() });
  let runs = 0;
  t.is(await cache.wrap('k', () => void runs++, { ttl: 60 }), undefined);
  t.is(await cache.wrap('k', () => void runs++, { ttl: 60 }), undefined);
  t.is(runs, 2);
});

test('refresh-ahead: a hit close to expiry recomputes once in the background, across replicas', async (t) => {
  const prefix = freshPrefix();
  const replicas = [cacheOn(redis.url, { prefix }), cacheOn(redis.url, { prefix })];
  let runs = 0;
  const compute = async () => {
    runs += 1;
    await sleep(200);
    return runs;
  };
  const options = { ttl: 3, refreshAheadMs: 2000 };
  t.is(await replicas[0]!.wrap('k', compute, options), 1);
  await until(async () => (await raw.pttl(`${prefix}v:k`)) < 1900);
  const hits = await Promise.all(Array.from({ length: 20 }, (_, i) => replicas[i % 2]!.wrap('k', compute, options)));
  t.deepEqual(new Set(hits), new Set([1]), 'hits answer at once with the value they have');
  await until(async () => (await replicas[0]!.get('k')) === 2);
  await sleep(300);
  t.is(runs, 2, 'refreshed once');
  t.true((await raw.pttl(`${prefix}v:k`)) > 2000, 'with a fresh ttl');
});

test('storing errors are surfaced: wrap rejects by default, and an onError that returns gets them', async (t) => {
  const server = await startRedis();
  t.teardown(() => server.stop());
  const admin = server.client();
  const strict = cacheOn(server.url);
  const seen: Array<{ message: string; during: string }> = [];
  const lenient = cacheOn(server.url, { onError: (error, context) => seen.push({ message: String(error), during: context.during }) });
  // Fill the server up while the value is computed: the lock is taken, the write is refused.
  const fillUp = async (value: string) => {
    await admin.config('SET', 'maxmemory', '1');
    return value;
  };
  await t.throwsAsync(strict.wrap('a', () => fillUp('strict'), { ttl: 60 }), { message: /OOM/ });
  await admin.config('SET', 'maxmemory', '0');
  t.is(await lenient.wrap('b', () => fillUp('lenient'), { ttl: 60 }), 'lenient');
  await admin.config('SET', 'maxmemory', '0');
  t.is(seen.length, 1);
  t.regex(seen[0]!.message, /OOM/);
  t.is(seen[0]!.during, 'store');
});

test('Redis down: wrap rejects by default, and degrades to computing when onError returns', async (t) => {
  const server = await startRedis();
  t.teardown(() => server.stop());
  const strict = cacheOn(server.url);
  const errors: unknown[] = [];
  const lenient = cacheOn(server.url, { onError: (error) => errors.push(error) });
  await strict.set('warm', 1, { ttl: 60 }); // both connected
  await lenient.get('warm');
  await server.kill();
  await t.throwsAsync(strict.wrap('k', () => 'x', { ttl: 60 }));
  const started = Date.now();
  t.is(await lenient.wrap('k', () => 'computed without the cache', { ttl: 60 }), 'computed without the cache');
  t.true(Date.now() - started < 3000, 'never hangs');
  t.true(errors.length >= 1);
});

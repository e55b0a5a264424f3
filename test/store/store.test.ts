// SPEC §3 Store: JSON values with a TTL in seconds, on Redis (shared across processes) or in-process.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { Store } from '../../libs/kalium/store/store.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';

const redis = redisForFile();

const backends = () => [
  ['redis', new Store({ backend: 'redis', url: redis.url, prefix: `t:${Math.random()}:` })],
  ['local', new Store({ backend: 'local' })],
] as const;

test('set then get round-trips JSON; a missing key is undefined; delete removes', async (t) => {
  for (const [name, store] of backends()) {
    const value = { label: 'positive', score: 0.93, tags: ['a', 'b'], nested: { n: null } };
    await store.set('k', value);
    t.deepEqual(await store.get('k'), value, name);
    t.is(await store.get('missing'), undefined, name);
    await store.delete('k');
    t.is(await store.get('k'), undefined, name);
    await store.close();
  }
});

test('values expire after their ttl in seconds', async (t) => {
  for (const [name, store] of backends()) {
    await store.set('short', 1, { ttl: 1 });
    t.is(await store.get('short'), 1, name);
    await sleep(1300);
    t.is(await store.get('short'), undefined, name);
    await store.close();
  }
});

test('the default ttl is 600 seconds', async (t) => {
  const store = new Store({ backend: 'redis', url: redis.url, prefix: 'ttl:' });
  await store.set('k', 'v');
  const ttl = await redis.client().ttl('ttl:k');
  t.true(ttl > 590 && ttl <= 600, String(ttl));
  await store.close();
});

test('two Store instances on one Redis see each other’s values (as api and worker do)', async (t) => {
  const a = new Store({ backend: 'redis', url: redis.url, prefix: 'shared:' });
  const b = new Store({ backend: 'redis', url: redis.url, prefix: 'shared:' });
  await a.set('job-1', { out: 42 });
  t.deepEqual(await b.get('job-1'), { out: 42 });
  await Promise.all([a.close(), b.close()]);
});

test('bad arguments are refused with clear errors and change nothing', async (t) => {
  const store = new Store({ backend: 'local' });
  await t.throwsAsync(store.set('k', 1, { ttl: 0 }), { message: /ttl/ });
  await t.throwsAsync(store.set('k', 1, { ttl: 1.5 }), { message: /ttl/ });
  await t.throwsAsync(store.set('k', undefined), { message: /JSON/ });
  await t.throwsAsync(store.set('', 1), { message: /keys/ });
  t.is(await store.get('k'), undefined);
  t.throws(() => new Store({ backend: 'memcached' } as never), { message: /'redis' or 'local'/ });
});

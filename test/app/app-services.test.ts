// app.store and app.cache come from the runtime running the app, which publishes them beside the app
// (app/app-services.ts) and never writes into the user's app object; over real redis-servers.
import test, { type ExecutionContext } from 'ava';
import { Kalium } from '../../libs/kalium/app/kalium.ts';
import { loadConfig } from '../../libs/kalium/config/config.ts';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { appKeys } from '../../libs/kalium/redis/keys.ts';
import { Runtime } from '../../libs/kalium/runtime/runtime.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

let first: RedisServer;
let second: RedisServer;

test.before(async () => {
  [first, second] = await Promise.all([startRedis(), startRedis()]);
});
test.after.always(async () => {
  await Promise.all([first?.stop(), second?.stop()]);
});

const NOT_RUNNING = /^app\.(store|cache) of \S+ is available once the app runs under kalium \(api, worker or dev\); no kalium runtime is running it in this process now$/;

async function running(t: ExecutionContext, app: Kalium, redis: RedisServer): Promise<Runtime> {
  const config = loadConfig({ REDIS_URL: redis.url, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent' });
  const runtime = new Runtime(app, config, createLogger({ level: 'silent' }), { processMetrics: false });
  t.teardown(() => runtime.close());
  await runtime.initialize();
  return runtime;
}

/** Everything reflection sees of an object: its prototype, extensibility and own properties with their descriptors. */
function shape(value: object) {
  return {
    prototype: Object.getPrototypeOf(value) as unknown,
    extensible: Object.isExtensible(value),
    own: Reflect.ownKeys(value).map((key) => [String(key), Object.getOwnPropertyDescriptor(value, key)]),
  };
}

function assertNotRunning(t: ExecutionContext, app: Kalium): void {
  t.throws(() => app.store, { message: NOT_RUNNING });
  t.throws(() => app.cache, { message: NOT_RUNNING });
  t.throws(() => app.store, { message: new RegExp(`^app\\.store of ${app.name} `) });
  t.throws(() => app.cache, { message: new RegExp(`^app\\.cache of ${app.name} `) });
}

/** Writes through app.store and app.cache and says on which of the two Redis servers the writes landed. */
async function whereWritesLand(app: Kalium, key: string): Promise<Array<'first' | 'second'>> {
  await app.store.set(key, { key }, { ttl: 60 });
  await app.cache.set(key, key, { ttl: 60 });
  const keys = appKeys(app.name);
  const landed: Array<'first' | 'second'> = [];
  for (const [name, server] of [['first', first], ['second', second]] as const) {
    const raw = server.client();
    const [stored, cached] = await Promise.all([raw.get(keys.store(key)), raw.get(keys.appCache.value(key))]);
    if (stored === JSON.stringify({ key }) && cached === JSON.stringify(key)) landed.push(name);
    else if (stored !== null || cached !== null) throw new Error(`${name} holds half of ${key}: ${stored} / ${cached}`);
  }
  return landed;
}

test('a runtime leaves the app object as it found it; app.store and app.cache work while it runs and say so once it has closed', async (t) => {
  const app = new Kalium('services-shape');
  app.handler('/echo', { gpu: false }, (_context, request) => request.json);
  // Frozen: a runtime adding or changing an own property of the app would throw (modules are strict).
  Object.freeze(app);
  const before = shape(app);
  t.false('attachStore' in app);
  t.false('attachCache' in app);
  assertNotRunning(t, app);

  const runtime = await running(t, app, first);
  t.deepEqual(shape(app), before);
  t.is(app.store, app.store, 'one Store per runtime, not one per read');
  t.is(app.cache, app.cache, 'one Cache per runtime, not one per read');
  await app.store.set('greeting', { hello: 'store' }, { ttl: 60 });
  t.deepEqual(await app.store.get('greeting'), { hello: 'store' });
  t.is(await first.client().get(appKeys(app.name).store('greeting')), '{"hello":"store"}');
  t.is(await app.cache.wrap('upper:tea', () => 'TEA', { ttl: 60 }), 'TEA');
  t.is(await app.cache.get('upper:tea'), 'TEA');
  t.is(await first.client().get(appKeys(app.name).appCache.value('upper:tea')), '"TEA"');

  await runtime.close();
  t.deepEqual(shape(app), before);
  assertNotRunning(t, app);
});

test('of two runtimes on one app, the later serves app.store and app.cache; closing either leaves the one still running', async (t) => {
  const app = new Kalium('services-two');
  const older = await running(t, app, first);
  const newer = await running(t, app, second);
  t.deepEqual(await whereWritesLand(app, 'both-running'), ['second']);
  await newer.close();
  t.deepEqual(await whereWritesLand(app, 'newer-closed'), ['first'], 'the older runtime, still running, serves them again');
  await older.close();
  assertNotRunning(t, app);

  const again = new Kalium('services-two-again');
  const olderAgain = await running(t, again, first);
  const newerAgain = await running(t, again, second);
  await olderAgain.close();
  await olderAgain.close();
  t.deepEqual(await whereWritesLand(again, 'older-closed'), ['second'], 'closing the older runtime (twice) leaves the newer one in place');
  await newerAgain.close();
  assertNotRunning(t, again);
});

test('app.store and app.cache are per app: a runtime running one app gives another app none', async (t) => {
  const served = new Kalium('services-served');
  const other = new Kalium('services-other');
  await running(t, served, first);
  t.notThrows(() => served.store);
  assertNotRunning(t, other);
});

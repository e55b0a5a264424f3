// kalium's one token lock (libs/kalium/lock/token-lock.ts), used by the GPU lease and the cache's
// compute locks, against a real Redis: one holder at a time, kept alive past its TTL by the keeper
// thread, released only by its holder, with the release announced to waiters.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { LockKeeper } from '../../libs/kalium/lock/lock-keeper.ts';
import { TokenLock } from '../../libs/kalium/lock/token-lock.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';

const redis = redisForFile();
const TTL = 400;

function lockWithKeeper(t: import('ava').ExecutionContext) {
  const keeper = new LockKeeper(redis.url, createLogger({ level: 'silent' }), 20);
  keeper.start();
  t.teardown(() => keeper.close());
  return new TokenLock(redis.client(), keeper);
}

test('one holder at a time; a second take is refused until the holder releases', async (t) => {
  const lock = lockWithKeeper(t);
  const token = await lock.take('{l}:one', TTL);
  t.truthy(token);
  t.is(await lock.take('{l}:one', TTL), undefined);
  t.true(await lock.release('{l}:one', token!, '{l}:released-one', 'one'));
  t.truthy(await lock.take('{l}:one', TTL), 'free again');
});

test('kept alive past its TTL by the keeper thread, and lapses once no longer kept', async (t) => {
  const lock = lockWithKeeper(t);
  const client = redis.client();
  // A first lock kept, so the thread is up before the timed one (its start-up outlasts a short lock).
  const warm = (await lock.take('{l}:warm', 60_000))!;
  const stopWarm = lock.keep('warm', '{l}:warm', warm, TTL);
  for (let i = 0; i < 400 && (await client.pttl('{l}:warm')) > TTL; i++) await sleep(25);
  stopWarm();

  const token = (await lock.take('{l}:kept', TTL))!;
  const stop = lock.keep('test lock', '{l}:kept', token, TTL);
  await sleep(3 * TTL);
  t.is(await client.get('{l}:kept'), token, 'still held three lifetimes later');
  stop();
  await sleep(2 * TTL);
  t.is(await client.get('{l}:kept'), null, 'lapsed once no longer kept');
});

test('only the holder releases (compare-and-delete), and a release is announced with its message', async (t) => {
  const lock = lockWithKeeper(t);
  const client = redis.client();
  const subscriber = redis.client();
  const heard: string[] = [];
  subscriber.on('message', (_channel: string, message: string) => heard.push(message));
  await subscriber.subscribe('{l}:released');
  const token = (await lock.take('{l}:two', 5000))!;
  t.false(await lock.release('{l}:two', 'not-the-token', '{l}:released', 'x'), 'another token frees nothing');
  t.is(await client.get('{l}:two'), token);
  t.true(await lock.release('{l}:two', token, '{l}:released', 'the-value-key'));
  t.false(await lock.release('{l}:two', token, '{l}:released', 'again'), 'a second release changes nothing');
  for (let i = 0; i < 100 && heard.length === 0; i++) await sleep(10);
  t.deepEqual(heard, ['the-value-key']);
});

// The lock keeper (libs/kalium/lock/lock-keeper.ts) against a real Redis: it renews a job's lock from
// its own thread while the worker holds it, stops once released, and reports a lock someone else took.
import test from 'ava';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { LockKeeper } from '../../libs/kalium/lock/lock-keeper.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';

const redis = redisForFile();
const LOCK_MS = 1000; // renewed every 333 ms (a third of it): room for a loaded machine's scheduling

function startKeeper(t: import('ava').ExecutionContext) {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const keeper = new LockKeeper(redis.url, createLogger({ level: 'info', destination }), 20);
  t.teardown(() => keeper.close());
  return { keeper, lines };
}

/**
 * Waits until the keeper's thread has started and renewed a first lock: on a loaded machine a thread's
 * start-up (loading ioredis, connecting) can take longer than the short locks these tests use.
 */
async function warm(keeper: LockKeeper): Promise<void> {
  const client = redis.client();
  await client.set('{t}:jobs:warm:lock', 'warm', 'PX', 60_000);
  const release = keep(keeper, 'warm', 'warm');
  for (let i = 0; i < 400 && (await client.pttl('{t}:jobs:warm:lock')) > LOCK_MS; i++) await sleep(25);
  release();
  await client.del('{t}:jobs:warm:lock');
}

function keep(keeper: LockKeeper, jobId: string, token: string) {
  return keeper.keepJobLock({ jobId, lockKey: `{t}:jobs:${jobId}:lock`, stalledKey: '{t}:jobs:stalled', token, lockMs: LOCK_MS });
}

test('a held lock is renewed past its time-to-live while kept, and lapses once released', async (t) => {
  const { keeper, lines } = startKeeper(t);
  await warm(keeper);
  const client = redis.client();
  await client.set('{t}:jobs:a:lock', 'token-a', 'PX', LOCK_MS);
  const release = keep(keeper, 'a', 'token-a');
  await sleep(3 * LOCK_MS);
  t.is(await client.get('{t}:jobs:a:lock'), 'token-a', 'still held three lifetimes later');
  release();
  await sleep(2 * LOCK_MS);
  t.is(await client.get('{t}:jobs:a:lock'), null, 'no longer renewed');
  t.deepEqual(lines.filter((line) => line.level === 40), [], 'nothing reported');
});

test('a lock another token holds is reported lost, once, and left alone', async (t) => {
  const { keeper, lines } = startKeeper(t);
  await warm(keeper);
  const client = redis.client();
  await client.set('{t}:jobs:b:lock', 'someone-else', 'PX', 10_000);
  const release = keep(keeper, 'b', 'token-b');
  t.teardown(release);
  await sleep(3 * LOCK_MS);
  const lost = lines.filter((line) => line.msg === 'a lock was lost while held (it lapsed, or another took it)');
  t.is(lost.length, 1);
  t.is(lost[0]!.what, 'job b');
  t.is(await client.get('{t}:jobs:b:lock'), 'someone-else');
});

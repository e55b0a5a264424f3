// The worker's loop takes jobs through QueueTaker, BullMQ's Worker driven by hand. These pin what the
// loop relies on, over a real Redis: a take waits for a job; finishing a job takes the next in the
// same command; a batch is a take of up to n jobs of one route from the head of the queue, leaving a
// job of another route in its place; a cancel's mark comes with the job; close() ends a wait and then waits for the loop.
import test from 'ava';
import { Queue } from 'bullmq';
import { Kalium } from '../../libs/kalium/app/kalium.ts';
import type { BackgroundRoute } from '../../libs/kalium/app/routes.ts';
import { JOB_FIELDS } from '../../libs/kalium/redis/keys.ts';
import { QueueTaker } from '../../libs/kalium/worker/queue-taker.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

const PREFIX = '{taker}';

async function setup(t: { teardown: (fn: () => Promise<void>) => void }, redis: RedisServer) {
  const connection = redis.client();
  // maxRetriesPerRequest: null, as BullMQ requires of a worker's connection.
  connection.options.maxRetriesPerRequest = null;
  const taker = new QueueTaker('jobs', { connection, prefix: PREFIX, lockDuration: 5000, stalledIntervalMs: 2000, maxStalledCount: 1000 });
  const queue = new Queue('jobs', { connection: redis.client(), prefix: PREFIX });
  t.teardown(async () => {
    await taker.close();
    await queue.close();
  });
  await taker.waitUntilReady();
  return { taker, queue, connection };
}

function batchRoute(maxSize: number, maxWaitMs: number): BackgroundRoute {
  const app = new Kalium('taker');
  app.background('/batched', { gpu: false, batch: { maxSize, maxWaitMs } }, async (_c, requests) => requests.map(() => null));
  return app.route('/batched') as BackgroundRoute;
}

test('a take waits for a job, and finishing it takes the next one in the same command', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const { taker, queue, connection } = await setup(t, redis);
  // As the loop does: a take may come back empty (the first finds the queue empty and BullMQ then knows
  // it is drained; later ones block until a job comes).
  const waiting = (async () => {
    for (;;) {
      const taken = await taker.take();
      if (taken) return taken;
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 100));
  await queue.add('/a', { n: 1 }, { jobId: 'one', priority: 2 });
  const first = await waiting;
  t.is(first?.job.id, 'one');
  t.false(first!.canceled);
  await queue.add('/a', { n: 2 }, { jobId: 'two', priority: 2 });
  // BullMQ's finish (moveToFinished) and take (moveToActive) are both scripts: one EVALSHA for the two.
  // (A script's first call may go as EVAL after Redis refused its EVALSHA with NOSCRIPT: calls that
  // succeeded, of either, are counted.)
  const commands = async () => {
    let calls = 0;
    for (const [, all, rejected, failed] of (await connection.info('commandstats')).matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+),.*rejected_calls=(\d+),failed_calls=(\d+)/gm)) {
      calls += Number(all) - Number(rejected) - Number(failed);
    }
    return calls;
  };

  const before = await commands();
  const next = await taker.complete(first!, true);
  const after = await commands();
  t.is(next?.job.id, 'two', 'the completion handed over the next job');
  t.is(next!.token, first!.token, 'held under the lock token it was taken by');
  t.is(after - before, 1, 'one script call finished the job and took the next');
  t.is(await queue.getJobState('one'), 'completed');
  t.is(await queue.getJobState('two'), 'active');
  t.is(await taker.complete(next!, true), undefined, 'nothing left: nothing handed over');
});

test('a batch takes the run of one route’s jobs at the head of the queue; a job of another route keeps its place', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const { taker, queue } = await setup(t, redis);
  for (const [id, name] of [['b1', '/batched'], ['b2', '/batched'], ['b3', '/batched'], ['other', '/other'], ['b4', '/batched']]) {
    await queue.add(name!, {}, { jobId: id, priority: 2 });
  }
  const first = await taker.take();
  const taken = await taker.takeBatch(batchRoute(8, 50), first!, Date.now());
  t.deepEqual(taken.map((one) => one.job.id), ['b1', 'b2', 'b3']);
  t.is(new Set(taken.map((one) => one.token)).size, 3, 'each job under a lock token of its own');
  t.is(await queue.getJobState('other'), 'prioritized', 'the other route’s job is still queued');
  const next = await taker.complete(taken[2]!, true);
  t.is(next?.job.id, 'other', 'and is the next job taken');
});

test('a batch stops at maxSize, and waits up to maxWaitMs for jobs to arrive', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const { taker, queue } = await setup(t, redis);
  for (const id of ['c1', 'c2', 'c3', 'c4']) await queue.add('/batched', {}, { jobId: id, priority: 2 });
  const first = await taker.take();
  t.deepEqual((await taker.takeBatch(batchRoute(3, 1000), first!, Date.now())).map((one) => one.job.id), ['c1', 'c2', 'c3']);

  const alone = await taker.take(); // c4
  const late = setTimeout(() => void queue.add('/batched', {}, { jobId: 'c5', priority: 2 }), 150);
  t.teardown(() => clearTimeout(late));
  const started = Date.now();
  const taken = await taker.takeBatch(batchRoute(2, 3000), alone!, started);
  t.deepEqual(taken.map((one) => one.job.id), ['c4', 'c5'], 'the job that came within maxWaitMs joined the batch');
  const empty = await taker.takeBatch(batchRoute(2, 100), taken[1]!, Date.now());
  t.is(empty.length, 1, 'with nothing arriving the batch is the first job alone, after maxWaitMs');
});

test('a cancel committed before the take comes with the job; close() ends a wait for a job and waits for the loop', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const { taker, queue, connection } = await setup(t, redis);
  await queue.add('/a', {}, { jobId: 'gone', priority: 2 });
  await connection.hset(`${PREFIX}:jobs:gone`, JOB_FIELDS.canceled, 1);
  const taken = await taker.take();
  t.is(taken?.job.id, 'gone');
  t.true(taken!.canceled);

  let ended = false;
  const loop = taker.start(async () => {
    while (!taker.stopping) await taker.take();
    ended = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  await taker.close();
  t.true(ended, 'close() interrupted the wait, and resolved only once the loop had ended');
  await loop;
});

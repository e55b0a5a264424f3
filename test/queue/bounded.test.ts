// SPEC §5: results and finished jobs expire (RESULT_TTL); BullMQ's events stream is trimmed; nothing in
// Redis grows without bound as jobs pass.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { getJob, PREFIX, startStack, submit, until } from '../helpers/job-stack.ts';

/** Submits `count` jobs, 20 at a time, and waits until the worker has drained the queue. */
async function runJobs(url: string, client: Redis, count: number): Promise<{ ids: string[]; keysAtEnd: number }> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 20) {
    ids.push(...(await Promise.all(Array.from({ length: Math.min(20, count - start) }, (_, i) => submit(url, '/echo', { n: start + i })))));
  }
  const keysAtEnd = await client.dbsize();
  await until(async () => (await client.llen(`${PREFIX}:jobs:wait`)) + (await client.llen(`${PREFIX}:jobs:active`)) === 0, 60_000, 'queue drained');
  return { ids, keysAtEnd };
}

test('with a short RESULT_TTL, Redis holds only the recent jobs however many have passed', async (t) => {
  const stack = await startStack({ env: { RESULT_TTL: '2', LOG_LEVEL: 'info' } });
  t.teardown(() => stack.close());
  const client = stack.redis.client();
  const { ids: early, keysAtEnd: peak } = await runJobs(stack.api.url, client, 300);
  t.true(peak >= 100, `${peak} keys right after 300 submits`);

  await sleep(3000); // past RESULT_TTL: the early results have expired
  const { ids: late } = await runJobs(stack.api.url, client, 30); // finishing jobs evict the aged ones (BullMQ does it then)

  const keys = await client.dbsize();
  t.true(keys < 30 * 2 + 20, `${keys} keys after 330 jobs: the 30 recent ones (job + result) and the queue's own`);
  t.true((await client.zcard(`${PREFIX}:jobs:completed`)) <= 30 + 5);
  t.is(await client.exists(`${PREFIX}:store:${early[0]}`), 0, 'an early result expired');
  t.is((await getJob(stack.api.url, early[0]!)).status, 404, 'an expired job is job_not_found');
  t.is((await getJob(stack.api.url, late[0]!)).status, 200);
  t.is(await client.hget(`${PREFIX}:jobs:meta`, 'opts.maxLenEvents'), '1000', 'no process raised the events cap');
  const events = await client.xlen(`${PREFIX}:jobs:events`);
  t.log({ peak, keys, events });
  t.true(events <= 1100, `events stream trimmed to about 1000 entries, has ${events} (about 5 per job were written)`);
});

test('finished jobs expire after RESULT_TTL even when no later job comes to trim them', async (t) => {
  const stack = await startStack({ env: { RESULT_TTL: '1', LOG_LEVEL: 'info' } });
  t.teardown(() => stack.close());
  const client = stack.redis.client();
  const { ids } = await runJobs(stack.api.url, client, 10);
  t.is(await client.exists(`${PREFIX}:jobs:${ids[0]}`), 1, 'the job record is there right after');
  // No more traffic: BullMQ alone would keep these records; the worker's sweeper removes them.
  await until(async () => (await client.zcard(`${PREFIX}:jobs:completed`)) === 0, 10_000, 'completed set swept');
  for (const id of ids) t.is(await client.exists(`${PREFIX}:jobs:${id}`), 0, `job ${id} removed`);
});

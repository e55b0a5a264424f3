// X-Priority's mechanism (SPEC §14), measured before choosing it: BullMQ priorities on one queue (every
// job prioritized, `normal` too) against one queue per level, and plain unprioritized BullMQ as the
// reference. Each variant adds JOBS no-op jobs (100 in flight) and drains them with one consumer taking
// jobs by hand (getNextJob + moveToCompleted, as kalium's worker chain does), on a redis-server of its
// own. The per-level variant takes from the high, then normal, then low queue: BullMQ cannot block on
// several queues at once, so an empty higher level costs a round trip before every job.
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { startRedis } from '../test/helpers/redis-server.ts';
import type { Bench, Figure } from './figure.ts';

const JOBS = 3000;
const ROUNDS = 3;

type Variant = 'plain' | 'priorities' | 'per-level';

async function round(port: number, variant: Variant): Promise<{ addPerS: number; takePerS: number }> {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const prefix = `{bench:${randomUUID()}}`;
  const names = variant === 'per-level' ? ['high', 'normal', 'low'] : ['jobs'];
  const queues = names.map((name) => new Queue(name, { connection, prefix }));
  const workers = names.map((name) => new Worker(name, undefined, { connection, prefix, autorun: false }));
  await Promise.all([...queues, ...workers].map((one) => one.waitUntilReady()));
  const target = variant === 'per-level' ? queues[1]! : queues[0]!;
  const options = variant === 'priorities' ? { priority: 2 } : {};
  let started = performance.now();
  for (let i = 0; i < JOBS; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => target.add('job', { i: i + j }, options)));
  }
  const addPerS = JOBS / ((performance.now() - started) / 1000);
  const token = randomUUID();
  started = performance.now();
  for (let done = 0; done < JOBS; ) {
    let job;
    for (const worker of workers) {
      job = await worker.getNextJob(token, { block: false });
      if (job) break;
    }
    if (!job) throw new Error('a job went missing');
    await job.moveToCompleted('ok', token, false);
    done++;
  }
  const takePerS = JOBS / ((performance.now() - started) / 1000);
  await Promise.all([...queues, ...workers].map((one) => one.close()));
  return { addPerS, takePerS };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const bench: Bench = async () => {
  const redis = await startRedis();
  try {
    const runs: Record<Variant, Array<{ addPerS: number; takePerS: number }>> = { plain: [], priorities: [], 'per-level': [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const variant of ['plain', 'priorities', 'per-level'] as const) runs[variant].push(await round(redis.port, variant));
    }
    const add = (variant: Variant) => median(runs[variant].map((run) => run.addPerS));
    const take = (variant: Variant) => median(runs[variant].map((run) => run.takePerS));
    const line = (variant: Variant) => `${variant}: add ${add(variant).toFixed(0)}/s, take ${take(variant).toFixed(0)}/s`;
    const figures: Figure[] = [
      {
        name: 'priorities: one BullMQ queue with priorities vs one queue per level, jobs taken per second',
        ratio: take('priorities') / take('per-level'),
        detail: `${line('priorities')}; ${line('per-level')}; ${line('plain')} (medians of ${ROUNDS} rounds of ${JOBS} jobs)`,
      },
      {
        name: 'priorities: BullMQ priorities vs plain unprioritized BullMQ, jobs taken per second',
        ratio: take('priorities') / take('plain'),
        detail: `adds: priorities ${(add('priorities') / add('plain')).toFixed(2)}x plain`,
      },
    ];
    return figures;
  } finally {
    await redis.stop();
  }
};

export default bench;

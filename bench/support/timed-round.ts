import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { cpuMicros } from '../child-server.ts';

/** A throughput run: jobs per second, and CPU µs per job of each process that took part. */
export interface Run {
  jobsPerSecond: number;
  cpu: Record<string, number>;
}

/**
 * Times a round: from the first submit until `count` more jobs are in BullMQ's completed set of `queue`
 * (polled every 2 ms while the submits go on, so the clock stops when the last job ends, whatever the
 * client does after), and the CPU each process spent. `submit` must send `count` jobs; its failure ends
 * the round with that error.
 */
export async function timed(redis: Redis, queue: string, count: number, pids: Record<string, number>, submit: () => Promise<void>): Promise<Run> {
  const key = `${queue}:completed`;
  const target = (await redis.zcard(key)) + count;
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMicros(pid) ?? NaN]));
  const client = process.cpuUsage();
  const started = performance.now();
  let failure: { error: unknown } | undefined;
  const submitted = submit().catch((error: unknown) => void (failure = { error }));
  while (!failure && (await redis.zcard(key)) < target) await sleep(2);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(client);
  await submitted;
  if (failure) throw failure.error;
  const cpu: Record<string, number> = { client: (used.user + used.system) / count };
  for (const [name, pid] of Object.entries(pids)) cpu[name] = ((cpuMicros(pid) ?? NaN) - before[name]!) / count;
  return { jobsPerSecond: count / seconds, cpu };
}

/**
 * Workers alone: `fill` queues the jobs while the workers are stopped (SIGSTOP), then the round is timed
 * as they empty the queue. What the workers' own chain does, without the submitting side on the same cores.
 */
export async function drain(redis: Redis, queue: string, count: number, workers: number[], fill: () => Promise<void>): Promise<Run> {
  for (const pid of workers) process.kill(pid, 'SIGSTOP');
  try {
    await fill();
  } catch (error) {
    for (const pid of workers) process.kill(pid, 'SIGCONT');
    throw error;
  }
  const pids = Object.fromEntries(workers.map((pid, i) => [i === 0 ? 'worker' : `worker${i}`, pid]));
  return timed(redis, queue, count, pids, async () => {
    for (const pid of workers) process.kill(pid, 'SIGCONT');
  });
}

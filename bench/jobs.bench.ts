// The job path (SPEC §11): HTTP submit → worker → result stored, with a no-op gpu model and one worker
// (concurrency 1), against bare BullMQ (queue.add + a concurrency-1 worker) in the same run; submit →
// result latency when idle; dynamic batching of a model costing 20 ms + 1 ms per item; and each worker
// alone draining a full queue (no SPEC target: the worker's own chain, without the submitting side).
//
// Everything runs as real processes on this machine: a redis-server of its own, kalium's api and worker
// as child processes (as in production), the bare BullMQ worker as a child process too; the clients
// (HTTP, and BullMQ's queue.add) run in this process. On a machine with few cores all of them share the
// CPU, so kalium's extra HTTP hop (client and api) weighs on its figure; the CPU time per job of each
// process is printed beside it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { startKalium, type KaliumProcess } from '../test/helpers/kalium-process.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { waitReady } from '../test/helpers/wait-ready.ts';
import { cpuMicros } from './child-server.ts';
import type { Bench, Figure } from './figure.ts';
import { median } from './measure.ts';
import { inParallel, jsonClient } from './support/http-client.ts';

const APP = fileURLToPath(new URL('./support/jobs-bench-app.ts', import.meta.url));
const BARE_WORKER = fileURLToPath(new URL('./support/bare-bullmq-worker.ts', import.meta.url));
const PREFIX = '{kalium:jobsbench}';
const JOBS = 5000;
const IN_FLIGHT = 16;
const ROUNDS = 4;
const BATCH_ROUNDS = 3;
const DRAIN_ROUNDS = 3;
const http = jsonClient(IN_FLIGHT);
/**
 * kalium's processes log at info, as in production (a line per request and per job), but this process
 * does not parse those lines once they are up: on two cores that would take CPU from the system under
 * test for work a log shipper does elsewhere.
 */
const QUIET = { timeoutMs: 60_000, discardLogsAfterReady: true };

/** A throughput run: jobs per second, and CPU µs per job of each process that took part. */
interface Run {
  jobsPerSecond: number;
  cpu: Record<string, number>;
}

/**
 * Times a round: from the first submit until `JOBS` more jobs are in BullMQ's completed set of `queue`
 * (polled every 2 ms while the submits go on, so the clock stops when the last job ends, whatever the
 * client does after), and the CPU each process spent. `submit` must send `JOBS` jobs; its failure ends
 * the round with that error.
 */
async function timed(redis: Redis, queue: string, pids: Record<string, number>, submit: () => Promise<void>): Promise<Run> {
  const key = `${queue}:completed`;
  const target = (await redis.zcard(key)) + JOBS;
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
  const cpu: Record<string, number> = { client: (used.user + used.system) / JOBS };
  for (const [name, pid] of Object.entries(pids)) cpu[name] = ((cpuMicros(pid) ?? NaN) - before[name]!) / JOBS;
  return { jobsPerSecond: JOBS / seconds, cpu };
}

/**
 * Bare BullMQ: queue.add from here, a concurrency-1 worker in a child process. Started once and warmed
 * up like kalium's processes (JIT, connections, scripts), then measured in every round: a fresh process
 * per round would hand kalium's warm worker a cold baseline.
 */
async function startBareBullmq(url: string, client: Redis): Promise<{ pid: number; add: () => Promise<void>; stop: () => Promise<void> }> {
  const prefix = '{bare}';
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', BARE_WORKER, url, 'jobs', prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => createInterface({ input: child.stdout! }).once('line', () => resolve()));
  const queue = new Queue('jobs', { connection: client, prefix });
  const keep = { age: 3600, count: 100_000 };
  const add = () => inParallel(JOBS, IN_FLIGHT, (i) => queue.add('noop', { i }, { removeOnComplete: keep, removeOnFail: keep }));
  const stop = async () => {
    child.kill('SIGKILL');
    await queue.close();
  };
  return { pid: child.pid!, add, stop };
}

/**
 * kalium's submits: `JOBS` HTTP requests to the api by autocannon (the load generator the other benches
 * use, as cheap a client as there is). autocannon resolves only at its next one-second tick after the
 * last answer, which is why rounds are timed by the completed jobs.
 */
async function submitOverHttp(api: KaliumProcess): Promise<void> {
  const result = await autocannon({
    url: `${api.url}/noop`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    connections: IN_FLIGHT,
    amount: JOBS,
  });
  if (result['2xx'] !== JOBS) throw new Error(`${JOBS - result['2xx']} submits were not accepted`);
}

/**
 * A worker alone: the queue is filled with `JOBS` jobs while the worker is stopped (SIGSTOP), then timed
 * as it empties it. What the worker's own chain (take, run, store, complete) does, without the
 * submitting side on the same cores, as when the api and the GPU worker run on different machines.
 */
async function drain(redis: Redis, queue: string, worker: number, fill: () => Promise<void>): Promise<Run> {
  process.kill(worker, 'SIGSTOP');
  try {
    await fill();
  } catch (error) {
    process.kill(worker, 'SIGCONT');
    throw error;
  }
  return timed(redis, queue, { worker }, async () => void process.kill(worker, 'SIGCONT'));
}

/** Idle submit → result latencies (ms): POST, then GET ?wait until the result is there, one at a time. */
async function idleLatencies(apiUrl: string, count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const { json } = await http.send('POST', `${apiUrl}/noop`, '{}');
    const done = await http.send('GET', `${apiUrl}/jobs/${json.id}?wait=5`);
    if (done.json.status !== 'succeeded') throw new Error(`job ${json.id} ended ${done.json.status}`);
    latencies.push(performance.now() - started);
    await sleep(2); // idle between jobs
  }
  return latencies;
}

/**
 * Jobs per second of a model route, from a full queue: the bench holds the GPU lease while it submits
 * (the worker takes the first job and waits for the GPU, as it would behind a sync request), then frees
 * it and times from then to the last job's end.
 */
async function modelThroughput(apiUrl: string, client: Redis, path: string, count: number): Promise<number> {
  const lease = `${PREFIX}:gpu:default`;
  await client.set(lease, 'bench', 'PX', 60_000);
  const ids: string[] = [];
  await inParallel(count, IN_FLIGHT, async () => ids.push((await http.send('POST', `${apiUrl}${path}`, '{}')).json.id));
  const freed = Date.now();
  await client.del(lease);
  for (const id of ids) while ((await http.send('GET', `${apiUrl}/jobs/${id}?wait=30`)).json.status !== 'succeeded') await sleep(1);
  const finished = await Promise.all(ids.map((id) => client.hget(`${PREFIX}:jobs:${id}`, 'finishedOn')));
  return count / ((Math.max(...finished.map(Number)) - freed) / 1000);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const us = (value: number) => `${value.toFixed(0)} µs`;

function throughputFigures(kalium: Run[], bare: Run[]): Figure[] {
  const ratios = kalium.map((run, i) => run.jobsPerSecond / bare[i]!.jobsPerSecond);
  const cpu = (runs: Run[], name: string) => median(runs.map((run) => run.cpu[name]!));
  const rates = (runs: Run[]) => runs.map((run) => run.jobsPerSecond.toFixed(0)).join(', ');
  return [
    {
      name: 'job path vs bare BullMQ (jobs/s, no-op gpu model, concurrency 1)',
      ratio: median(ratios),
      target: '>= 0.7',
      detail:
        `median of ${ROUNDS} paired rounds (${ratios.map((r) => r.toFixed(2)).join(', ')}); kalium HTTP submit → worker → result stored: ` +
        `${rates(kalium)} jobs/s; bare queue.add + worker: ${rates(bare)} jobs/s (${JOBS} jobs a round, ${IN_FLIGHT} in flight)`,
    },
    {
      name: 'job path: worker CPU per job, bare BullMQ worker ÷ kalium worker',
      ratio: cpu(bare, 'worker') / cpu(kalium, 'worker'),
      detail:
        `kalium worker ${us(cpu(kalium, 'worker'))}, api ${us(cpu(kalium, 'api'))}, HTTP client ${us(cpu(kalium, 'client'))}; ` +
        `bare worker ${us(cpu(bare, 'worker'))}, queue.add client ${us(cpu(bare, 'client'))} (medians; /proc CPU time per job)`,
    },
  ];
}

function drainFigure(kalium: Run[], bare: Run[]): Figure {
  const ratios = kalium.map((run, i) => run.jobsPerSecond / bare[i]!.jobsPerSecond);
  const rates = (runs: Run[]) => runs.map((run) => run.jobsPerSecond.toFixed(0)).join(', ');
  const cpu = (runs: Run[]) => us(median(runs.map((run) => run.cpu.worker!)));
  return {
    name: 'worker alone, draining a full queue: kalium worker vs bare BullMQ worker (jobs/s)',
    ratio: median(ratios),
    detail:
      `median of ${DRAIN_ROUNDS} paired rounds (${ratios.map((r) => r.toFixed(2)).join(', ')}); kalium ${rates(kalium)} jobs/s, ` +
      `bare ${rates(bare)} jobs/s; worker CPU per job kalium ${cpu(kalium)}, bare ${cpu(bare)} (${JOBS} jobs queued while the worker was stopped)`,
  };
}

const bench: Bench = async () => {
  const redis = await startRedis();
  const env = { REDIS_URL: redis.url, LOG_LEVEL: 'info', RESULT_TTL: '3600', QUEUE_MAX: '1000000' };
  const started = await Promise.allSettled([startKalium('api', APP, env, QUIET), startKalium('worker', APP, env, QUIET)]);
  const processes = started.flatMap((one) => (one.status === 'fulfilled' ? [one.value] : []));
  const stop = async () => {
    http.close();
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await redis.stop();
  };
  if (processes.length < 2) {
    await stop();
    throw (started.find((one) => one.status === 'rejected') as PromiseRejectedResult).reason;
  }
  const [api, worker] = processes as [KaliumProcess, KaliumProcess];
  const client = redis.client();
  try {
    await waitReady(api.url);
    const bareBullmq = await startBareBullmq(redis.url, client);
    const pids = { api: api.child.pid!, worker: worker.child.pid! };
    const kaliumPath = () => timed(client, `${PREFIX}:jobs`, pids, () => submitOverHttp(api));
    const barePath = () => timed(client, '{bare}:jobs', { worker: bareBullmq.pid }, bareBullmq.add);
    const kalium: Run[] = [];
    const bare: Run[] = [];
    const drains: Record<'kalium' | 'bare', Run[]> = { kalium: [], bare: [] };
    try {
      // Warm-up of both sides: JIT, connections, scripts loaded.
      await kaliumPath();
      await barePath();
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate who goes first, so a busy patch of the machine hits both sides of a pair.
        if (round % 2 === 0) kalium.push(await kaliumPath());
        bare.push(await barePath());
        if (round % 2 === 1) kalium.push(await kaliumPath());
      }
      for (let round = 0; round < DRAIN_ROUNDS; round++) {
        drains.kalium.push(await drain(client, `${PREFIX}:jobs`, pids.worker, () => submitOverHttp(api)));
        drains.bare.push(await drain(client, '{bare}:jobs', bareBullmq.pid, bareBullmq.add));
      }
    } finally {
      await bareBullmq.stop();
    }
    const latencies = (await idleLatencies(api.url, 220)).slice(20).sort((a, b) => a - b);
    const batching: Array<{ batched: number; unbatched: number }> = [];
    for (let round = 0; round < BATCH_ROUNDS; round++) {
      batching.push({ unbatched: await modelThroughput(api.url, client, '/model', 60), batched: await modelThroughput(api.url, client, '/model-batched', 480) });
    }
    const batchRatios = batching.map((run) => run.batched / run.unbatched);
    return [
      ...throughputFigures(kalium, bare),
      drainFigure(drains.kalium, drains.bare),
      {
        name: 'idle submit → result latency',
        detail: `p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms over ${latencies.length} jobs (POST, then GET /jobs/:id?wait; SPEC p50 <= 5 ms)`,
      },
      {
        name: 'batching: model of 20 ms + 1 ms/item, maxSize 16, batched vs unbatched',
        ratio: median(batchRatios),
        target: '>= 8',
        detail: `median of ${BATCH_ROUNDS} rounds (${batchRatios.map((r) => r.toFixed(2)).join(', ')}); batched ${batching.map((r) => r.batched.toFixed(0)).join(', ')} jobs/s, unbatched ${batching.map((r) => r.unbatched.toFixed(0)).join(', ')} jobs/s`,
      },
    ];
  } finally {
    await stop();
  }
};

export default bench;

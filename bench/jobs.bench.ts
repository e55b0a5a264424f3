// The job path (SPEC §11): HTTP submit → worker → result stored, with a no-op gpu model and one worker
// (concurrency 1), against bare BullMQ (queue.add + a concurrency-1 worker) in the same run; submit →
// result latency when idle; and dynamic batching of a model costing 20 ms + 1 ms per item.
//
// Everything runs as real processes on this machine: a redis-server of its own, kalium's api and worker
// as child processes (as in production), the bare BullMQ worker as a child process too; the clients
// (HTTP, and BullMQ's queue.add) run in this process. On a machine with few cores all of them share the
// CPU, so kalium's extra HTTP hop (client and api) weighs on its figure.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { startKalium, type KaliumProcess } from '../test/helpers/kalium-process.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import type { Bench, Figure } from './figure.ts';

const APP = fileURLToPath(new URL('./support/jobs-bench-app.ts', import.meta.url));
const BARE_WORKER = fileURLToPath(new URL('./support/bare-bullmq-worker.ts', import.meta.url));
const PREFIX = '{kalium:jobsbench}';
const JOBS = 3000;
const IN_FLIGHT = 16;
const ROUNDS = 2;
const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });

/** One HTTP exchange with a JSON answer, on a keep-alive connection (the client costs little). */
function http(method: string, url: string, body?: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs `count` tasks, `inFlight` at a time. */
async function inParallel(count: number, inFlight: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) await task(next++);
  }));
}

async function untilCompleted(client: Redis, key: string, count: number): Promise<void> {
  while ((await client.zcard(key)) < count) await sleep(2);
}

/** Jobs per second of bare BullMQ: queue.add from here, a concurrency-1 worker in a child process. */
async function bareBullmq(url: string, client: Redis, round: number): Promise<number> {
  const prefix = `{bare:${round}}`;
  const child = spawn(process.execPath, ['--import', 'tsx', BARE_WORKER, url, 'jobs', prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => createInterface({ input: child.stdout! }).once('line', () => resolve()));
  const queue = new Queue('jobs', { connection: client, prefix });
  const keep = { age: 3600, count: 100_000 };
  const started = performance.now();
  await inParallel(JOBS, IN_FLIGHT, (i) => queue.add('noop', { i }, { removeOnComplete: keep, removeOnFail: keep }));
  await untilCompleted(client, `${prefix}:jobs:completed`, JOBS);
  const seconds = (performance.now() - started) / 1000;
  child.kill('SIGTERM');
  await queue.close();
  return JOBS / seconds;
}

/** Jobs per second of kalium's path: HTTP submits to the api, the worker runs and stores each result. */
async function kaliumPath(apiUrl: string, client: Redis): Promise<number> {
  const key = `${PREFIX}:jobs:completed`;
  const before = await client.zcard(key);
  const started = performance.now();
  await inParallel(JOBS, IN_FLIGHT, async () => {
    const res = await http('POST', `${apiUrl}/noop`, '{}');
    if (res.status !== 202) throw new Error(`submit answered ${res.status}`);
  });
  await untilCompleted(client, key, before + JOBS);
  return JOBS / ((performance.now() - started) / 1000);
}

/** Idle submit → result latencies (ms): POST, then GET ?wait until the result is there, one at a time. */
async function idleLatencies(apiUrl: string, count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const { json } = await http('POST', `${apiUrl}/noop`, '{}');
    const done = await http('GET', `${apiUrl}/jobs/${json.id}?wait=5`);
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
  await inParallel(count, IN_FLIGHT, async () => ids.push((await http('POST', `${apiUrl}${path}`, '{}')).json.id));
  const freed = Date.now();
  await client.del(lease);
  for (const id of ids) while ((await http('GET', `${apiUrl}/jobs/${id}?wait=30`)).json.status !== 'succeeded') await sleep(1);
  const finished = await Promise.all(ids.map((id) => client.hget(`${PREFIX}:jobs:${id}`, 'finishedOn')));
  return count / ((Math.max(...finished.map(Number)) - freed) / 1000);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const bench: Bench = async () => {
  const redis = await startRedis();
  const env = { REDIS_URL: redis.url, LOG_LEVEL: 'info', RESULT_TTL: '3600', QUEUE_MAX: '1000000' };
  const started = await Promise.allSettled([startKalium('api', APP, env), startKalium('worker', APP, env)]);
  const processes = started.flatMap((one) => (one.status === 'fulfilled' ? [one.value] : []));
  const stop = async () => {
    agent.destroy();
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await redis.stop();
  };
  if (processes.length < 2) {
    await stop();
    throw (started.find((one) => one.status === 'rejected') as PromiseRejectedResult).reason;
  }
  const [api] = processes as [KaliumProcess, KaliumProcess];
  const client = redis.client();
  try {
    await kaliumPath(api.url, client); // warm-up: JIT, connections, scripts loaded
    const bare: number[] = [];
    const kalium: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      bare.push(await bareBullmq(redis.url, client, round));
      kalium.push(await kaliumPath(api.url, client));
    }
    const latencies = (await idleLatencies(api.url, 220)).slice(20).sort((a, b) => a - b);
    const unbatched = await modelThroughput(api.url, client, '/model', 60);
    const batched = await modelThroughput(api.url, client, '/model-batched', 480);
    const best = (values: number[]) => Math.max(...values);
    const fmt = (values: number[]) => values.map((v) => v.toFixed(0)).join(', ');
    const figures: Figure[] = [
      {
        name: 'job path vs bare BullMQ (jobs/s, no-op gpu model, concurrency 1)',
        ratio: best(kalium) / best(bare),
        target: '>= 0.7',
        detail: `kalium HTTP submit → worker → result stored: ${fmt(kalium)} jobs/s; bare BullMQ queue.add + worker: ${fmt(bare)} jobs/s (${JOBS} jobs a run, ${IN_FLIGHT} submits in flight, best of ${ROUNDS}; api and workers as child processes)`,
      },
      {
        name: 'idle submit → result latency',
        detail: `p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms over ${latencies.length} jobs (POST, then GET /jobs/:id?wait; SPEC p50 <= 5 ms)`,
      },
      {
        name: 'batching: model of 20 ms + 1 ms/item, maxSize 16, batched vs unbatched',
        ratio: batched / unbatched,
        target: '>= 8',
        detail: `batched ${batched.toFixed(0)} jobs/s, unbatched ${unbatched.toFixed(0)} jobs/s`,
      },
    ];
    return figures;
  } finally {
    await stop();
  }
};

export default bench;

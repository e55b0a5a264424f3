// The job path (SPEC §16): HTTP submit → worker → result stored, with a no-op gpu model and one worker
// (concurrency 1), against the same service written by hand (a Koa route that `queue.add`s and answers
// 202, a concurrency-1 BullMQ worker whose return value is the result: bench/support/handrolled-api.ts)
// under the same HTTP load generator, and against bare BullMQ (queue.add from this process, no HTTP) as
// the ceiling; each worker alone draining a full queue; idle submit → result latency; dynamic batching
// of a model costing 20 ms + 1 ms per item.
//
// Everything runs as real processes on this machine: a redis-server of its own, kalium's api and worker,
// the hand-rolled api and the BullMQ workers as child processes; the clients (autocannon, BullMQ's
// queue.add) run in this process. The CPU time per job of each process is printed beside each figure.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { freePort } from '../test/helpers/free-port.ts';
import { startKalium, type KaliumProcess } from '../test/helpers/kalium-process.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { waitReady } from '../test/helpers/wait-ready.ts';
import { startChildServer, type ChildServer } from './child-server.ts';
import type { Bench, Figure } from './figure.ts';
import { median } from './measure.ts';
import { inParallel, jsonClient } from './support/http-client.ts';
import { drain, timed, type Run } from './support/timed-round.ts';

const APP = fileURLToPath(new URL('./support/jobs-bench-app.ts', import.meta.url));
const BARE_WORKER = fileURLToPath(new URL('./support/bare-bullmq-worker.ts', import.meta.url));
const HANDROLLED_API = fileURLToPath(new URL('./support/handrolled-api.ts', import.meta.url));
const PREFIX = '{kalium:jobsbench}';
const JOBS = 4000;
const IN_FLIGHT = 16;
/** Single rounds vary by ±25% on two shared cores: medians of interleaved rounds. */
const ROUNDS = 5;
const BATCH_ROUNDS = 3;
const DRAIN_ROUNDS = 5;
/** The batching limit: 16 items cost 20 + 16 ms batched, 16 × 21 ms one by one. */
const BATCH_LIMIT = (16 * 21) / 36;
const http = jsonClient(IN_FLIGHT);
/** kalium's processes log at info, as in production, but this process does not parse those lines. */
const QUIET = { timeoutMs: 60_000, discardLogsAfterReady: true };

/** A concurrency-1 BullMQ worker in a child process on `prefix`'s queue `jobs`, warmed up and kept. */
async function startBareWorker(url: string, prefix: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', BARE_WORKER, url, 'jobs', prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => createInterface({ input: child.stdout! }).once('line', () => resolve()));
  return child;
}

/** `JOBS` POSTs of `{}` to `url` by autocannon, `IN_FLIGHT` connections; every one must be accepted. */
async function submitOverHttp(url: string): Promise<void> {
  const result = await autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', connections: IN_FLIGHT, amount: JOBS });
  if (result['2xx'] !== JOBS) throw new Error(`${JOBS - result['2xx']} submits to ${url} were not accepted`);
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
 * Jobs per second of a model route, from a full queue: the bench holds the GPU lease while it submits,
 * then frees it and times from then to the last job's end.
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
const rates = (runs: Run[]) => runs.map((run) => run.jobsPerSecond.toFixed(0)).join(', ');
const cpu = (runs: Run[], name: string) => us(median(runs.map((run) => run.cpu[name]!)));

/** kalium against `reference`, round by round: the median ratio, and the rounds behind it. */
function paired(name: string, kalium: Run[], reference: Run[], target: string | undefined, detail: (ratios: string) => string): Figure {
  const ratios = kalium.map((run, i) => run.jobsPerSecond / reference[i]!.jobsPerSecond);
  return { name, ratio: median(ratios), target, detail: detail(`median of ${ratios.length} interleaved rounds (${ratios.map((r) => r.toFixed(2)).join(', ')})`) };
}

const bench: Bench = async () => {
  const redis = await startRedis();
  const env = { REDIS_URL: redis.url, LOG_LEVEL: 'info', RESULT_TTL: '3600', QUEUE_MAX: '1000000' };
  const started = await Promise.allSettled([startKalium('api', APP, env, QUIET), startKalium('worker', APP, env, QUIET)]);
  const processes = started.flatMap((one) => (one.status === 'fulfilled' ? [one.value] : []));
  const children: ChildProcess[] = [];
  let handApi: ChildServer | undefined;
  const stop = async () => {
    http.close();
    for (const child of children) child.kill('SIGKILL');
    await handApi?.stop();
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
    const bareWorker = await startBareWorker(redis.url, '{bare}');
    const handWorker = await startBareWorker(redis.url, '{hand}');
    children.push(bareWorker, handWorker);
    const handPort = await freePort();
    handApi = await startChildServer('hand-rolled Koa + BullMQ', ['--import', 'tsx', HANDROLLED_API], { ...process.env, PORT: String(handPort), REDIS_URL: redis.url, QUEUE_PREFIX: '{hand}' }, handPort, { path: '/noop', body: {}, status: 202 });
    const bareQueue = new Queue('jobs', { connection: client, prefix: '{bare}' });
    const keep = { age: 3600, count: 100_000 };
    const bareAdd = () => inParallel(JOBS, IN_FLIGHT, (i) => bareQueue.add('noop', { i }, { removeOnComplete: keep, removeOnFail: keep })).then(() => undefined);

    const kaliumPids = { api: api.child.pid!, worker: worker.child.pid! };
    const paths = {
      kalium: () => timed(client, `${PREFIX}:jobs`, JOBS, kaliumPids, () => submitOverHttp(`${api.url}/noop`)),
      hand: () => timed(client, '{hand}:jobs', JOBS, { api: handApi!.pid, worker: handWorker.pid! }, () => submitOverHttp(`${handApi!.url}/noop`)),
      bare: () => timed(client, '{bare}:jobs', JOBS, { worker: bareWorker.pid! }, bareAdd),
    };
    const runs: Record<keyof typeof paths, Run[]> = { kalium: [], hand: [], bare: [] };
    const drains: Record<'kalium' | 'bare', Run[]> = { kalium: [], bare: [] };
    for (const path of Object.values(paths)) await path(); // warm-up: JIT, connections, scripts loaded
    const order: Array<keyof typeof paths> = ['kalium', 'hand', 'bare'];
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate who goes first, so a busy patch of the machine hits every side in turn.
      for (let i = 0; i < order.length; i++) {
        const side = order[(round + i) % order.length]!;
        runs[side].push(await paths[side]());
      }
    }
    for (let round = 0; round < DRAIN_ROUNDS; round++) {
      drains.kalium.push(await drain(client, `${PREFIX}:jobs`, JOBS, [kaliumPids.worker], () => submitOverHttp(`${api.url}/noop`)));
      drains.bare.push(await drain(client, '{bare}:jobs', JOBS, [bareWorker.pid!], bareAdd));
    }
    await bareQueue.close();

    const latencies = (await idleLatencies(api.url, 220)).slice(20).sort((a, b) => a - b);
    const batching: Array<{ batched: number; unbatched: number }> = [];
    for (let round = 0; round < BATCH_ROUNDS; round++) {
      batching.push({ unbatched: await modelThroughput(api.url, client, '/model', 60), batched: await modelThroughput(api.url, client, '/model-batched', 480) });
    }
    const batchRatios = batching.map((run) => run.batched / run.unbatched / BATCH_LIMIT);
    return [
      paired('job path vs hand-rolled Koa + BullMQ (jobs/s, no-op gpu model, concurrency 1)', runs.kalium, runs.hand, '>= 0.9', (rounds) =>
        `${rounds}; kalium ${rates(runs.kalium)} jobs/s, hand-rolled ${rates(runs.hand)} jobs/s (${JOBS} jobs a round by autocannon, ${IN_FLIGHT} connections). ` +
        `CPU per job: kalium api ${cpu(runs.kalium, 'api')}, worker ${cpu(runs.kalium, 'worker')}; hand-rolled api ${cpu(runs.hand, 'api')}, worker ${cpu(runs.hand, 'worker')}; HTTP client ${cpu(runs.kalium, 'client')} / ${cpu(runs.hand, 'client')}`),
      paired('job path vs bare BullMQ, the ceiling (queue.add from the bench, no HTTP)', runs.kalium, runs.bare, undefined, (rounds) =>
        `${rounds}; bare ${rates(runs.bare)} jobs/s; bare worker ${cpu(runs.bare, 'worker')}, queue.add client ${cpu(runs.bare, 'client')} per job`),
      paired('worker alone draining a full queue: kalium worker vs bare BullMQ worker (jobs/s)', drains.kalium, drains.bare, '>= 0.9', (rounds) =>
        `${rounds}; kalium ${rates(drains.kalium)}, bare ${rates(drains.bare)} jobs/s; worker CPU per job kalium ${cpu(drains.kalium, 'worker')}, bare ${cpu(drains.bare, 'worker')}`),
      {
        name: 'idle submit → result latency',
        detail: `p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms over ${latencies.length} jobs (POST, then GET /jobs/:id?wait; SPEC §16 p50 <= 2 ms)`,
      },
      {
        name: `batching: model of 20 ms + 1 ms/item, maxSize 16, batched ÷ unbatched as a share of the ${BATCH_LIMIT.toFixed(2)}x limit`,
        ratio: median(batchRatios),
        target: '>= 0.95',
        detail: `median of ${BATCH_ROUNDS} rounds (${batching.map((r) => (r.batched / r.unbatched).toFixed(2)).join(', ')}x); batched ${batching.map((r) => r.batched.toFixed(0)).join(', ')} jobs/s, unbatched ${batching.map((r) => r.unbatched.toFixed(0)).join(', ')} jobs/s`,
      },
    ];
  } finally {
    await stop();
  }
};

export default bench;

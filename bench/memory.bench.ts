// SPEC §11's last service level: the api's memory stays flat (±10%) over 100k jobs, and Redis' memory
// stays bounded by the TTLs.
//
// A private redis-server; kalium's api and worker as child processes through the real CLI, at
// LOG_LEVEL=warn, on the jobs bench's no-op background route, with RESULT_TTL=5 s so results and
// finished jobs expire many times over during the run. The bench submits the jobs over HTTP (kept-alive
// connections, 32 in flight) at a steady RATE, below what the worker drains, and waits whenever more
// than MAX_BACKLOG jobs are unfinished: the memory under test is that of a steady flow, not of a queue
// running away, and a steady rate keeps Redis' samples comparable (it holds the jobs of the last TTL).
//
// The api's RSS (/proc) is read every 200 ms; a checkpoint's "under load" figure is the median of the
// reads over the 5k jobs before it (one read swings with the moment's garbage, and once the api idles
// V8 may hand memory back). At each checkpoint the bench lets the worker drain the queue, then reads the
// api's and the worker's RSS and Redis' `INFO memory` used_memory and DBSIZE; once more at the end,
// after the last results have expired. Nothing is forced: no --expose-gc, no global.gc().
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { isJobId } from '../libs/kalium/queue/job-ids.ts';
import { appKeys } from '../libs/kalium/redis/keys.ts';
import { freePort } from '../test/helpers/free-port.ts';
import { CLI, cleanEnv } from '../test/helpers/kalium-process.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { rssBytes, startChildServer, type ChildServer } from './child-server.ts';
import type { Bench, Figure } from './figure.ts';
import { median } from './measure.ts';
import { inParallel, jsonClient, type JsonClient } from './support/http-client.ts';

const APP = fileURLToPath(new URL('./support/jobs-bench-app.ts', import.meta.url));
const KEYS = appKeys('jobsbench');
const CHECKPOINTS = [10_000, 25_000, 50_000, 75_000, 100_000];
const RESULT_TTL_S = 5;
const IN_FLIGHT = 32;
/**
 * The submit rate the bench holds to (when the machine allows): Redis holds the jobs of the last
 * RESULT_TTL, so a steady rate makes its samples comparable; well below what the job path does here.
 */
const RATE = 1000;
/** How often the api's RSS is read while jobs are submitted. */
const RSS_EVERY_MS = 200;
/** The jobs before a checkpoint over which its "under load" RSS is taken. */
const RSS_WINDOW = 5000;
/** Jobs between two progress lines (with the api's RSS) on stderr. */
const PROGRESS_EVERY = 5000;
/** Queued jobs above which the bench waits for the worker before submitting more. */
const MAX_BACKLOG = 2000;
/** Time Redis gets, past the TTL, to find and delete the expired keys by itself (it samples them ten times a second). */
const EXPIRY_GRACE_MS = 3000;
const UNFINISHED = ['waiting', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children'] as const;

/**
 * The live keys in Redis by kind: results in the Store, BullMQ job hashes, everything else. SCAN skips
 * (and deletes) keys past their TTL, so this runs after INFO and DBSIZE, which still count them.
 */
interface Census {
  results: number;
  jobs: number;
  other: number;
}

interface Sample {
  label: string;
  jobs: number;
  /** The api's RSS at the sample, with the queue drained (idle). */
  apiRss: number;
  /** The median of the api's RSS read every RSS_EVERY_MS while the RSS_WINDOW jobs before the sample were submitted. */
  apiRssLoaded: number;
  workerRss: number;
  usedMemory: number;
  dbsize: number;
  census: Census;
  /** Jobs finished within the last RESULT_TTL: what the TTLs let Redis hold. */
  window: number;
}

/** What the run needs to reach: the api, the worker's pid and liveness, Redis and the queue's counts. */
interface Setup {
  api: ChildServer;
  worker: { pid: number; alive: () => boolean; stderr: () => string };
  client: Redis;
  queue: Queue;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const log = (line: string) => process.stderr.write(`memory: ${line}\n`);

/** `kalium worker` through the CLI; at LOG_LEVEL=warn it says nothing when ready, so the caller checks it runs jobs. */
function startWorker(env: NodeJS.ProcessEnv): Setup['worker'] & { stop(): Promise<void> } {
  const child = spawn(process.execPath, [CLI, 'worker', APP], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid!,
    alive,
    stderr: () => stderr,
    async stop() {
      if (alive()) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Waits until fewer than `limit` jobs are unfinished (queued or running). */
async function backlogBelow(setup: Setup, limit: number): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const backlog = await setup.queue.getJobCountByTypes(...UNFINISHED);
    if (backlog < limit) return backlog;
    if (!setup.worker.alive()) throw new Error(`the worker exited: ${setup.worker.stderr()}`);
    if (Date.now() > deadline) throw new Error(`${backlog} jobs still unfinished after 120 s`);
    await sleep(10);
  }
}

async function census(client: Redis): Promise<Census> {
  const counts: Census = { results: 0, jobs: 0, other: 0 };
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      if (key.startsWith(KEYS.store(''))) counts.results += 1;
      else if (isJobId(key.slice(key.lastIndexOf(':') + 1))) counts.jobs += 1;
      else counts.other += 1;
    }
  } while (cursor !== '0');
  return counts;
}

async function sample(setup: Setup, label: string, jobs: number, apiRssLoaded = NaN): Promise<Sample> {
  const info = await setup.client.info('memory');
  const usedMemory = Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
  const window = await setup.client.zcount(setup.queue.keys.completed!, Date.now() - RESULT_TTL_S * 1000, '+inf');
  const s: Sample = {
    label,
    jobs,
    apiRss: rssBytes(setup.api.pid) ?? NaN,
    apiRssLoaded,
    workerRss: rssBytes(setup.worker.pid) ?? NaN,
    usedMemory,
    dbsize: await setup.client.dbsize(),
    census: await census(setup.client),
    window,
  };
  const c = s.census;
  const loaded = Number.isNaN(apiRssLoaded) ? '' : ` (under load ${mb(apiRssLoaded)})`;
  log(`${label}: api RSS ${mb(s.apiRss)}${loaded}, worker RSS ${mb(s.workerRss)}, Redis used_memory ${mb(usedMemory)}, DBSIZE ${s.dbsize} (${c.results} results, ${c.jobs} job hashes, ${c.other} other; ${window} jobs finished in the last ${RESULT_TTL_S} s)`);
  return s;
}

/**
 * Submits `count` jobs at RATE jobs/s, IN_FLIGHT at most at a time, in steps of a second's worth; before
 * each step waits while more than MAX_BACKLOG jobs are unfinished.
 */
async function submit(setup: Setup, http: JsonClient, count: number): Promise<void> {
  for (let done = 0; done < count; done += RATE) {
    await backlogBelow(setup, MAX_BACKLOG);
    const step = performance.now();
    await inParallel(Math.min(RATE, count - done), IN_FLIGHT, async (i) => {
      const early = step + (i / RATE) * 1000 - performance.now();
      if (early > 0) await sleep(early);
      const { status, json } = await http.send('POST', `${setup.api.url}/noop`, '{}');
      if (status !== 202) throw new Error(`a submit was answered ${status}: ${JSON.stringify(json)}`);
    });
  }
}

/** What pushJobs measured: a sample at each checkpoint, the api's RSS read all along, the job rate reached. */
interface Run {
  samples: Sample[];
  trace: Array<{ jobs: number; rss: number }>;
  jobsPerSecond: number;
}

/** Submits up to each checkpoint, lets the worker drain, samples, while the api's RSS is read all along. */
async function pushJobs(setup: Setup): Promise<Run> {
  const http = jsonClient(IN_FLIGHT);
  const run: Run = { samples: [], trace: [], jobsPerSecond: NaN };
  const started = performance.now();
  let submitted = 0;
  const ticker = setInterval(() => run.trace.push({ jobs: submitted, rss: rssBytes(setup.api.pid) ?? NaN }), RSS_EVERY_MS);
  try {
    for (const checkpoint of CHECKPOINTS) {
      while (submitted < checkpoint) {
        const count = Math.min(PROGRESS_EVERY, checkpoint - submitted);
        await submit(setup, http, count);
        submitted += count;
        const rate = submitted / ((performance.now() - started) / 1000);
        log(`${submitted} submitted, ${rate.toFixed(0)} jobs/s, api RSS ${mb(rssBytes(setup.api.pid) ?? NaN)}`);
      }
      await backlogBelow(setup, 1);
      const failed = await setup.queue.getJobCountByTypes('failed');
      if (failed > 0) throw new Error(`${failed} jobs failed`);
      const loaded = run.trace.filter((t) => t.jobs >= checkpoint - RSS_WINDOW && t.jobs < checkpoint).map((t) => t.rss);
      run.samples.push(await sample(setup, `${checkpoint / 1000}k`, checkpoint, median(loaded)));
    }
  } finally {
    clearInterval(ticker);
    http.close();
  }
  run.jobsPerSecond = submitted / ((performance.now() - started) / 1000);
  return run;
}

/**
 * Samples once more when the last results have expired (RESULT_TTL after the last job, plus time for
 * Redis' own active expiry; the census's SCAN would expire keys itself, so it runs only after DBSIZE).
 */
async function afterTtl(setup: Setup, jobs: number): Promise<Sample> {
  await sleep(RESULT_TTL_S * 1000 + EXPIRY_GRACE_MS);
  return sample(setup, `${(RESULT_TTL_S + EXPIRY_GRACE_MS / 1000).toFixed(0)} s after the last job`, jobs);
}

function figures({ samples, trace, jobsPerSecond }: Run, end: Sample): Figure[] {
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const points = (pick: (s: Sample) => string, list = samples) => list.map((s) => `${s === end ? 'after TTL' : s.label} ${pick(s)}`).join(', ');
  const settled = trace.filter((t) => t.jobs >= first.jobs).map((t) => t.rss);
  const keys = (s: Sample) => `${s.dbsize} (${s.census.results} results, ${s.census.jobs} job hashes; ${s.window} jobs finished in the last ${RESULT_TTL_S} s)`;
  const total = `${last.jobs} jobs at ${jobsPerSecond.toFixed(0)} jobs/s (paced to ≤ ${RATE}), RESULT_TTL ${RESULT_TTL_S} s, ${IN_FLIGHT} in flight`;
  return [
    {
      name: `API memory over ${last.jobs / 1000}k jobs: api RSS under load at ${last.label} ÷ at ${first.label}`,
      ratio: last.apiRssLoaded / first.apiRssLoaded,
      target: '0.90–1.10 (flat ±10%)',
      detail:
        `api RSS under load (median of reads every ${RSS_EVERY_MS} ms over the ${RSS_WINDOW / 1000}k jobs before) ${points((s) => mb(s.apiRssLoaded))}; ` +
        `every read from ${first.label} on within ${mb(Math.min(...settled))}–${mb(Math.max(...settled))}; ` +
        `idle, queue drained: ${points((s) => mb(s.apiRss), [...samples, end])}; worker RSS idle: ${points((s) => mb(s.workerRss), [...samples, end])} (${total}; no forced GC)`,
    },
    {
      name: `Redis memory over ${last.jobs / 1000}k jobs: used_memory at ${last.label} ÷ at ${first.label}`,
      ratio: last.usedMemory / first.usedMemory,
      target: 'bounded by the TTLs: ≈ 1 while the job count grows 10x',
      detail: `used_memory ${points((s) => mb(s.usedMemory), [...samples, end])}; DBSIZE ${points(keys, [...samples, end])}; after TTL = ${end.label} (${total})`,
    },
  ];
}

const bench: Bench = async () => {
  const redis = await startRedis();
  const port = await freePort();
  const env = cleanEnv({ REDIS_URL: redis.url, PORT: String(port), LOG_LEVEL: 'warn', RESULT_TTL: String(RESULT_TTL_S), METRICS_PORT: '0', QUEUE_MAX: '1000000' });
  const client = redis.client();
  const queue = new Queue(KEYS.jobQueue, { connection: client, prefix: KEYS.prefix });
  let api: ChildServer | undefined;
  const worker = startWorker(env);
  try {
    // The probe's 202 is the first job; the worker running it shows the worker is up.
    api = await startChildServer(`kalium api ${APP}`, [CLI, 'api', APP], env, port, { path: '/noop', body: {}, status: 202 });
    const setup: Setup = { api, worker, client, queue };
    await backlogBelow(setup, 1);
    log(`api pid ${api.pid}, worker pid ${worker.pid}, Redis on ${redis.port}; submitting ${CHECKPOINTS.at(-1)} jobs`);
    const run = await pushJobs(setup);
    return figures(run, await afterTtl(setup, run.samples.at(-1)!.jobs));
  } finally {
    await queue.close();
    await api?.stop();
    await worker.stop();
    await redis.stop();
  }
};

export default bench;

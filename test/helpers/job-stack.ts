import { setTimeout as sleep } from 'node:timers/promises';
import { startKalium, type KaliumProcess } from './kalium-process.ts';
import { startRedis, type RedisServer } from './redis-server.ts';
import { waitReady } from './wait-ready.ts';

export const JOBS_APP = 'test/fixtures/apps/jobs-app.ts';
/** The fixture app's hash-tagged key prefix. */
export const PREFIX = '{kalium:jobsfixture}';

/** A real Redis, an api and workers as child processes, for one test or one file. */
export interface JobStack {
  readonly redis: RedisServer;
  readonly env: Record<string, string>;
  api: KaliumProcess;
  readonly workers: KaliumProcess[];
  startWorker(env?: Record<string, string>): Promise<KaliumProcess>;
  startApi(env?: Record<string, string>): Promise<KaliumProcess>;
  close(): Promise<void>;
}

/** A loaded machine starts a tsx process slowly; a start-up is given this long. */
const START_TIMEOUT_MS = 60_000;

/** Starts Redis, an api and `workers` workers (1 by default); if any fails to start, stops the others. */
export async function startStack(options: { workers?: number; env?: Record<string, string>; appendonly?: boolean } = {}): Promise<JobStack> {
  const redis = await startRedis({ appendonly: options.appendonly });
  const env = { REDIS_URL: redis.url, LOG_LEVEL: 'debug', ...options.env };
  const processes: KaliumProcess[] = [];
  const workers: KaliumProcess[] = [];
  const start = async (role: 'api' | 'worker', extra: Record<string, string> = {}) => {
    const started = await startKalium(role, JOBS_APP, { ...env, ...extra }, { timeoutMs: START_TIMEOUT_MS });
    processes.push(started);
    if (role === 'api') await waitReady(started.url, START_TIMEOUT_MS); // its Redis connection is up too
    return started;
  };
  const starting = await Promise.allSettled([start('api'), ...Array.from({ length: options.workers ?? 1 }, async () => workers.push(await start('worker')))]);
  const failed = starting.find((one): one is PromiseRejectedResult => one.status === 'rejected');
  if (failed) {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await redis.stop();
    throw failed.reason;
  }
  const api = (starting[0] as PromiseFulfilledResult<KaliumProcess>).value;
  const stack: JobStack = {
    redis,
    env,
    api,
    workers,
    async startWorker(extra) {
      const worker = await start('worker', extra);
      workers.push(worker);
      return worker;
    },
    async startApi(extra) {
      stack.api = await start('api', extra);
      return stack.api;
    },
    async close() {
      await Promise.all(processes.map((p) => p.kill('SIGKILL')));
      await redis.stop();
    },
  };
  return stack;
}

export type Json = Record<string, any>;

export async function post(url: string, path: string, body: unknown = {}, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Json }> {
  const res = await fetch(url + path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
}

/** Submits a background request and returns its job id (asserting nothing: tests check the answer). */
export async function submit(url: string, path: string, body: unknown = {}, headers: Record<string, string> = {}): Promise<string> {
  const res = await post(url, path, body, headers);
  if (res.status !== 202 && res.status !== 200) throw new Error(`submit ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return String(res.body.id);
}

export async function getJob(url: string, id: string, query = ''): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${url}/jobs/${id}${query}`);
  return { status: res.status, body: (await res.json()) as Json };
}

const ENDS = ['succeeded', 'failed', 'canceled'];

/** Waits (long-polling for end states) until the job has one of `statuses`; fails at once on another end. */
export async function waitForStatus(url: string, id: string, statuses: string[], timeoutMs = 30_000): Promise<Json> {
  const ending = statuses.every((s) => ENDS.includes(s));
  const deadline = Date.now() + timeoutMs;
  let last: Json | undefined;
  while (Date.now() < deadline) {
    const { status, body } = await getJob(url, id, ending ? '?wait=2' : '');
    last = body;
    if (status === 200 && statuses.includes(String(body.status))) return body;
    if (status === 200 && ENDS.includes(String(body.status))) break;
    if (!ending) await sleep(50);
  }
  throw new Error(`job ${id} did not reach ${statuses.join('/')} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

/** Polls `check` every 50 ms until it holds; returns the ms it took. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what = 'condition'): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await sleep(50);
  }
  throw new Error(`${what} not met within ${timeoutMs} ms`);
}

/** Reads a Server-Sent Events stream to its end: the events in order. */
export async function readEvents(url: string, id: string, timeoutMs = 30_000): Promise<{ status: number; events: Array<{ event: string; data: Json }> }> {
  const res = await fetch(`${url}/jobs/${id}/events`, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.headers.get('content-type')?.startsWith('application/json')) return { status: res.status, events: [] };
  const text = await res.text();
  const events = text
    .split('\n\n')
    .filter((block) => block.startsWith('event:'))
    .map((block) => {
      const [eventLine, dataLine] = block.split('\n');
      return { event: eventLine!.slice('event: '.length), data: JSON.parse(dataLine!.slice('data: '.length)) as Json };
    });
  return { status: res.status, events };
}

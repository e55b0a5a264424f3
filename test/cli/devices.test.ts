// SPEC §12: `kalium worker <app> --devices 0,1` runs one supervised worker per GPU; several workers on
// one host never collide on a default port.
import test from 'ava';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, cleanEnv, startKalium } from '../helpers/kalium-process.ts';
import { freePort } from '../helpers/free-port.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';

const APP = resolve('test/fixtures/apps/device-app.ts');
const redis = redisForFile();

interface Where {
  cuda: string;
  device: string;
  pid: number;
}

test('--devices 0,1: one worker per GPU with its device, CUDA_VISIBLE_DEVICES and metrics port; a dead one restarts; SIGTERM stops all after their jobs', async (t) => {
  const api = await startKalium('api', APP, { REDIS_URL: redis.url });
  t.teardown(() => void api.kill('SIGKILL'));
  const base = await twoFreePorts();
  const pool = spawn(process.execPath, [CLI, 'worker', APP, '--devices', '0,1'], {
    env: cleanEnv({ REDIS_URL: redis.url, METRICS_PORT: String(base) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  pool.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((done) => pool.once('exit', done));
  t.teardown(() => {
    if (pool.exitCode === null) pool.kill('SIGKILL');
  });
  await until(() => (out.match(/"msg":"worker ready"/g) ?? []).length === 2, 30_000, () => out);
  for (const port of [base, base + 1]) t.is((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, `metrics port ${port}`);

  const first = await runJobs(api.url, 6);
  const byDevice = new Map(first.map((where) => [where.cuda, where]));
  t.deepEqual([...byDevice.keys()].sort(), ['0', '1'], 'both GPUs took jobs');
  t.is(byDevice.get('0')!.device, 'gpu0');
  t.is(byDevice.get('1')!.device, 'gpu1');

  process.kill(byDevice.get('1')!.pid, 'SIGKILL');
  await until(() => out.includes('a device worker exited: restarting it'), 10_000, () => out);
  await until(() => (out.match(/"msg":"worker ready"/g) ?? []).length === 3, 30_000, () => out);
  const second = await runJobs(api.url, 6);
  const restarted = second.find((where) => where.cuda === '1');
  t.truthy(restarted, 'the restarted GPU 1 worker takes jobs');
  t.not(restarted!.pid, byDevice.get('1')!.pid);

  // A job running on each device, then SIGTERM to the supervisor: both jobs finish, all exit 0.
  const ids = await Promise.all([0, 1].map(() => submit(api.url, 1500)));
  await until(async () => (await Promise.all(ids.map((id) => status(api.url, id)))).every((s) => s === 'running'), 10_000, () => out);
  pool.kill('SIGTERM');
  t.is(await exited, 0);
  for (const id of ids) t.is(await status(api.url, id), 'succeeded');
});

test('two plain workers on one host start without a METRICS_PORT: the second takes a free port', async (t) => {
  const env = { REDIS_URL: redis.url, METRICS_PORT: '' };
  const one = await startKalium('worker', APP, env);
  t.teardown(() => void one.kill('SIGKILL'));
  const two = await startKalium('worker', APP, env);
  t.teardown(() => void two.kill('SIGKILL'));
  const urls = [one, two].map((worker) => worker.logs.find((line) => line.msg === 'worker metrics listening')?.url);
  t.is(new Set(urls).size, 2, 'each has its own metrics port');
  t.true([one, two].some((worker) => worker.logs.some((line) => String(line.msg).includes('worker metrics on a free port'))));
  for (const url of urls) t.is((await fetch(`${String(url)}/healthz`)).status, 200);
});

test('a bad --devices list is a start-up error naming it', async (t) => {
  const child = spawn(process.execPath, [CLI, 'worker', APP, '--devices', '0,,1'], { env: cleanEnv({ REDIS_URL: redis.url }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  t.is(await new Promise<number | null>((done) => child.once('exit', done)), 1);
  t.regex(stderr, /KALIUM_DEVICES="0,,1": expected a comma list/);
});

async function runJobs(url: string, count: number): Promise<Where[]> {
  const ids = await Promise.all(Array.from({ length: count }, () => submit(url, 300)));
  return Promise.all(
    ids.map(async (id) => {
      const body = (await (await fetch(`${url}/jobs/${id}?wait=30`)).json()) as { status: string; result: Where };
      if (body.status !== 'succeeded') throw new Error(`job ${id} ended ${body.status}`);
      return body.result;
    }),
  );
}

async function submit(url: string, ms: number): Promise<string> {
  const res = await fetch(`${url}/where`, { method: 'POST', body: JSON.stringify({ ms }), headers: { 'content-type': 'application/json' } });
  return ((await res.json()) as { id: string }).id;
}

async function status(url: string, id: string): Promise<string> {
  return ((await (await fetch(`${url}/jobs/${id}`)).json()) as { status: string }).status;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, context: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out; output: ${context().slice(-3000)}`);
    await sleep(50);
  }
}

/** A port p with p + 1 also free. */
async function twoFreePorts(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const free = await new Promise<boolean>((done) => {
      const server = createServer().once('error', () => done(false));
      server.listen(port + 1, '127.0.0.1', () => server.close(() => done(true)));
    });
    if (free) return port;
  }
}

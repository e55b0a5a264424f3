import { once } from 'node:events';
import test from 'ava';
import { startKalium, type KaliumProcess } from '../helpers/kalium-process.ts';
import { scrape, sampleValue } from '../helpers/prometheus.ts';
import { JOBS_APP, startStack, type JobStack } from '../helpers/job-stack.ts';
import { startRedis } from '../helpers/redis-server.ts';

// The worker's side of graceful shutdown (the running job's completion on SIGTERM is pinned in
// worker.test.ts): its metrics stay up while it drains, a second signal does not wait, and a Redis that
// is gone cannot hold the exit.

let stack: JobStack;

test.before(async () => {
  stack = await startStack({ workers: 0 });
});
test.after.always(async () => {
  await stack?.close();
});

async function submit(path: string, body: unknown): Promise<string> {
  const response = await fetch(stack.api.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return ((await response.json()) as { id: string }).id;
}

async function jobStatus(id: string): Promise<string> {
  return ((await (await fetch(`${stack.api.url}/jobs/${id}`)).json()) as { status: string }).status;
}

/** Resolves once all a process wrote to stdout has been read (its exit can come first). */
async function outputRead(process: KaliumProcess): Promise<void> {
  const stdout = process.child.stdout!;
  if (!stdout.closed) await once(stdout, 'close');
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test.serial('SIGTERM mid-job: the metrics port answers while the job finishes and is logged, then the port closes', async (t) => {
  const worker = await stack.startWorker();
  const { url } = await worker.waitForLog((line) => line.msg === 'worker metrics listening');
  const id = await submit('/gpu', { ms: 1500 });
  await until('the job to run', async () => (await jobStatus(id)) === 'running');
  worker.child.kill('SIGTERM');
  await worker.waitForLog((line) => line.msg === 'shutting down');
  t.is((await fetch(`${String(url)}/healthz`)).status, 200, 'still up while draining');
  t.is(await worker.exited, 0);
  await outputRead(worker);
  t.is(await jobStatus(id), 'succeeded');
  t.truthy(worker.logs.find((line) => line.msg === 'job finished' && line.jobId === id && line.status === 'succeeded'));
  await t.throwsAsync(fetch(`${String(url)}/healthz`), undefined, 'closed once the worker stopped');
});

test.serial('a second SIGTERM exits at once; the cut job runs again on another worker', async (t) => {
  const fastRecovery = { KALIUM_JOB_LOCK_MS: '1500', KALIUM_STALLED_INTERVAL_MS: '500', KALIUM_LEASE_TTL_MS: '1500' };
  const first = await stack.startWorker(fastRecovery);
  const id = await submit('/counted', { ms: 2000 });
  await until('the job to run', async () => (await jobStatus(id)) === 'running');
  first.child.kill('SIGTERM');
  await first.waitForLog((line) => line.msg === 'shutting down');
  first.child.kill('SIGTERM');
  t.is(await first.exited, 130);
  await outputRead(first);
  t.truthy(first.logs.find((line) => line.msg === 'second signal: exiting now'));
  t.falsy(first.logs.find((line) => line.msg === 'job finished' && line.jobId === id), 'it did not wait for the job');

  const second = await stack.startWorker(fastRecovery);
  await until('the job to succeed', async () => (await jobStatus(id)) === 'succeeded', 60_000);
  const line = await second.waitForLog((l) => l.msg === 'job finished' && l.jobId === id);
  t.like(line, { status: 'succeeded', attempts: 2 });
  const { url } = await second.waitForLog((l) => l.msg === 'worker metrics listening');
  const samples = await scrape(`${String(url)}/metrics`);
  t.is(sampleValue(samples, 'kalium_jobs_total', { route: '/counted', outcome: 'succeeded' }), 1, 'counted by the worker that finished it');
});

test('SIGTERM while Redis is gone: the idle worker exits SHUTDOWN_TIMEOUT_MS later, and the outage is logged sparingly', async (t) => {
  // A Redis of its own: the stack's keeps serving the other tests.
  const redis = await startRedis();
  const worker = await startKalium('worker', JOBS_APP, { REDIS_URL: redis.url, LOG_LEVEL: 'debug', SHUTDOWN_TIMEOUT_MS: '1000' });
  try {
    await redis.kill();
    await new Promise((r) => setTimeout(r, 3000)); // three seconds of reconnect attempts
    const signaled = Date.now();
    worker.child.kill('SIGTERM');
    const code = await Promise.race([worker.exited, new Promise((r) => setTimeout(() => r('still running'), 15_000))]);
    t.is(code, 1, 'exits, with 1: it could not close cleanly');
    t.true(Date.now() - signaled < 10_000);
    await outputRead(worker);
    t.truthy(worker.logs.find((line) => line.msg === 'shutdown did not finish in time: exiting now' && line.ms === 1000));
    for (const message of ['job worker error (retrying)', 'webhook worker error (retrying)']) {
      const lines = worker.logs.filter((line) => line.msg === message);
      t.true(lines.length >= 1 && lines.length <= 2, `${message}: ${lines.length} lines in ≈ 4 s of outage`);
    }
  } finally {
    await worker.kill('SIGKILL');
    await redis.stop();
  }
});

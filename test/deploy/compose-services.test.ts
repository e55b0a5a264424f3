import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Redis } from 'ioredis';
import { composeConfig, startServiceCommand, type ComposeService, type ServiceProcess } from '../helpers/compose.ts';
import { freePort } from '../helpers/free-port.ts';
import { scrape, sampleValue } from '../helpers/prometheus.ts';

// Runs each docker-compose.yml service's exact command and environment, as docker-compose resolves
// them, outside Docker (no engine here). Only what names the host changes: REDIS_URL (the `redis`
// hostname exists only on the compose network), and HOST/ports (free loopback ports, since this
// machine's 8000 or 6379 may be taken). Redis gets its compose flags plus a port and a data dir.

interface Stack {
  redisUrl: string;
  redisChild: ChildProcess;
  redisDir: string;
  api: ServiceProcess;
  apiUrl: string;
  worker: ServiceProcess;
  metricsUrl: string;
  receiver: ServiceProcess;
  receiverUrl: string;
}
let stack: Stack;

function environmentOf(service: ComposeService): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(service.environment ?? {})) env[name] = value ?? '';
  return env;
}

async function startRedisAsComposed(command: string[]): Promise<{ url: string; child: ChildProcess; dir: string }> {
  const [program, ...flags] = command;
  if (program !== 'redis-server') throw new Error(`the redis service runs ${program}, expected redis-server`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kalium-compose-redis-'));
  const child = spawn('redis-server', [...flags, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') break;
    } catch {
      if (i > 200 || child.exitCode !== null) throw new Error(`redis-server ${flags.join(' ')} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
  return { url, child, dir };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// As an operator would: the secret in the environment compose is run from.
const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;

test.before(async () => {
  const { services } = await composeConfig(['docker-compose.yml'], { WEBHOOK_SECRET });
  const redis = await startRedisAsComposed(services.redis!.command ?? []);
  const apiPort = await freePort();
  const metricsPort = await freePort();
  const receiverPort = await freePort();
  const api = startServiceCommand(services.api!.command!, {
    ...environmentOf(services.api!),
    REDIS_URL: redis.url,
    HOST: '127.0.0.1',
    PORT: String(apiPort),
  });
  const worker = startServiceCommand(services.worker!.command!, {
    ...environmentOf(services.worker!),
    REDIS_URL: redis.url,
    HOST: '127.0.0.1',
    METRICS_PORT: String(metricsPort),
  });
  const receiver = startServiceCommand(services['webhook-receiver']!.command!, {
    ...environmentOf(services['webhook-receiver']!),
    WEBHOOK_RECEIVER_HOST: '127.0.0.1',
    WEBHOOK_RECEIVER_PORT: String(receiverPort),
  });
  stack = {
    redisUrl: redis.url,
    redisChild: redis.child,
    redisDir: redis.dir,
    api,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    worker,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    receiver,
    receiverUrl: `http://127.0.0.1:${receiverPort}/hook`,
  };
});

test.after.always(async () => {
  if (!stack) return;
  await Promise.all([stack.api.stop(), stack.worker.stop(), stack.receiver.stop()]);
  stack.redisChild.kill('SIGKILL');
  rmSync(stack.redisDir, { recursive: true, force: true });
});

test.serial('redis-server accepts the compose flags: AOF fsynced every second, noeviction, 1gb', async (t) => {
  const redis = new Redis(stack.redisUrl);
  t.teardown(() => redis.disconnect());
  t.deepEqual(await redis.config('GET', 'appendonly'), ['appendonly', 'yes']);
  t.deepEqual(await redis.config('GET', 'appendfsync'), ['appendfsync', 'everysec']);
  t.deepEqual(await redis.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'noeviction']);
  t.deepEqual(await redis.config('GET', 'maxmemory'), ['maxmemory', String(1024 ** 3)]);
});

test.serial('the api service becomes ready and serves the example model', async (t) => {
  await stack.api.waitForLog((line) => line.msg === 'api listening', 60_000);
  await until('api /readyz', async () => ((await fetch(`${stack.apiUrl}/readyz`)).status === 200 ? true : undefined));
  t.is((await fetch(`${stack.apiUrl}/healthz`)).status, 200);
  const response = await fetch(`${stack.apiUrl}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'I love this wonderful service' }),
  });
  t.is(response.status, 200);
  t.is(((await response.json()) as { label: string }).label, 'positive');
});

test.serial('the worker service is ready and answers /healthz and /metrics on METRICS_PORT', async (t) => {
  await stack.worker.waitForLog((line) => line.msg === 'worker ready', 60_000);
  t.is((await fetch(`${stack.metricsUrl}/healthz`)).status, 200);
  const samples = await scrape(`${stack.metricsUrl}/metrics`);
  t.truthy(sampleValue(samples, 'kalium_process_resident_memory_bytes'));
});

test.serial('a background job submitted to the api is run by the worker and its result stored; both report it in /metrics', async (t) => {
  const submitted = await fetch(`${stack.apiUrl}/background`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ texts: ['What a great day', 'This is terrible'] }),
  });
  t.is(submitted.status, 202);
  const { id } = (await submitted.json()) as { id: string };
  const job = await until('the job to end', async () => {
    const body = (await (await fetch(`${stack.apiUrl}/jobs/${id}?wait=10`)).json()) as { status: string };
    return ['succeeded', 'failed', 'canceled'].includes(body.status) ? body : undefined;
  });
  t.is(job.status, 'succeeded', JSON.stringify(job));
  const stored = await fetch(`${stack.apiUrl}/result`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id }) });
  t.is(stored.status, 200);
  t.deepEqual(((await stored.json()) as { results: Array<{ label: string }> }).results.map((r) => r.label), ['positive', 'negative']);

  const worker = await scrape(`${stack.metricsUrl}/metrics`);
  t.is(sampleValue(worker, 'kalium_jobs_total', { route: '/background', outcome: 'succeeded' }), 1, 'the worker counted the job');
  const api = await scrape(`${stack.apiUrl}/metrics`);
  t.is(sampleValue(api, 'kalium_queue_jobs', { queue: 'jobs', state: 'completed' }), 1, 'the api reads the queue depth');
  t.is(sampleValue(api, 'kalium_queue_jobs', { queue: 'jobs', state: 'waiting' }), 0);
});

test.serial('a job with X-Webhook-Url has its webhook signed, delivered to the webhook-receiver service and verified there', async (t) => {
  await stack.receiver.waitForLog((line) => line.msg === 'webhook receiver listening', 60_000);
  const submitted = await fetch(`${stack.apiUrl}/background`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-webhook-url': stack.receiverUrl },
    body: JSON.stringify({ texts: ['Lovely'] }),
  });
  t.is(submitted.status, 202);
  const { id } = (await submitted.json()) as { id: string };
  const delivered = await stack.receiver.waitForLog((line) => line.msg === 'webhook received' && line.jobId === id, 60_000);
  t.is(delivered.event, 'succeeded');
  t.is(delivered.verified, true, 'compose gave the sender and the receiver the same WEBHOOK_SECRET');
});

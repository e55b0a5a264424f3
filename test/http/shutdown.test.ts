import { once } from 'node:events';
import { request, Agent } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { startKalium, type KaliumProcess } from '../helpers/kalium-process.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';

const APP = fileURLToPath(new URL('../fixtures/apps/gpu-app.ts', import.meta.url));
const redis = redisForFile();
// Each test names its own device: they run in parallel on one Redis, and each needs its own GPU lease.

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Resolves once all a process wrote to stdout has been read (its exit can come first). */
async function outputRead(process: KaliumProcess): Promise<void> {
  const stdout = process.child.stdout!;
  if (!stdout.closed) await once(stdout, 'close');
}

/** POST /slow over a keep-alive agent, as a load balancer's connection pool would hold it. */
function slowRequest(url: string, ms: number, agent: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ ms });
    const req = request(`${url}/slow`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Resolves once the api holds the GPU lease, i.e. the slow request is in its handler. /readyz first:
 * until Redis answers, /__status__ reports the GPU unavailable too.
 */
async function untilGpuBusy(api: KaliumProcess): Promise<void> {
  await untilReady(api.url);
  for (let i = 0; i < 400; i++) {
    const status = (await (await fetch(`${api.url}/__status__`)).json()) as { gpu_available: boolean };
    if (!status.gpu_available) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the slow request never took the GPU');
}

async function untilReady(url: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await fetch(`${url}/readyz`)).status === 200) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the api never became ready');
}

/** Whether connections to `url` are refused (polling a little: the listener closes as the signal is handled). */
async function untilRefused(url: string): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    if (await connectionRefused(url)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function connectionRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

test('SIGTERM: new connections are refused, the in-flight request still gets its 200, then the api exits 0 without waiting on idle keep-alive sockets', async (t) => {
  const api = await startKalium('api', APP, { REDIS_URL: redis.url, SHUTDOWN_TIMEOUT_MS: '60000', KALIUM_DEVICE: 'drain' });
  t.teardown(() => api.kill('SIGKILL').then(() => undefined));
  const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
  t.teardown(() => agent.destroy());

  await untilReady(api.url);
  const answer = slowRequest(api.url, 2500, agent);
  await untilGpuBusy(api);
  api.child.kill('SIGTERM');
  await api.waitForLog((line) => line.msg === 'shutting down');
  t.true(await untilRefused(api.url), 'new connections are refused while draining');

  const { status, headers, body } = await answer;
  t.is(status, 200);
  t.truthy(JSON.parse(body).pid);
  t.is(headers.connection, 'close', 'the kept-alive connection is told to close');

  t.is(await api.exited, 0);
  await outputRead(api);
  t.truthy(api.logs.find((line) => line.msg === 'in-flight requests finished' && line.inFlight === 1));
  t.falsy(api.logs.find((line) => line.msg === 'shutdown deadline passed; closing open connections'), 'draining did not wait for the 60 s deadline');
  t.truthy(api.logs.find((line) => line.msg === 'shut down'));
});

/** An api with a 60 s request in flight on a kept-alive connection; `answer` settles when that request does. */
async function apiBusyWithSlowRequest(t: ExecutionContext, env: Record<string, string>): Promise<{ api: KaliumProcess; answer: Promise<unknown> }> {
  const api = await startKalium('api', APP, { REDIS_URL: redis.url, ...env });
  t.teardown(() => api.kill('SIGKILL').then(() => undefined));
  const agent = new Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  await untilReady(api.url);
  const answer = slowRequest(api.url, 60_000, agent);
  answer.catch(() => {});
  await untilGpuBusy(api);
  return { api, answer };
}

test('SIGTERM then a second SIGTERM exits at once, without waiting for the in-flight request', async (t) => {
  const { api, answer } = await apiBusyWithSlowRequest(t, { SHUTDOWN_TIMEOUT_MS: '60000', KALIUM_DEVICE: 'second-signal' });
  api.child.kill('SIGTERM');
  await api.waitForLog((line) => line.msg === 'shutting down');
  api.child.kill('SIGTERM');
  t.is(await api.exited, 130);
  await outputRead(api);
  t.truthy(api.logs.find((line) => line.msg === 'second signal: exiting now'));
  await t.throwsAsync(answer, undefined, 'the 60 s request was cut, not waited for');
});

test('past SHUTDOWN_TIMEOUT_MS the open connections are closed and the api exits', async (t) => {
  const { api, answer } = await apiBusyWithSlowRequest(t, { SHUTDOWN_TIMEOUT_MS: '300', KALIUM_DEVICE: 'deadline' });
  api.child.kill('SIGTERM');
  t.is(await api.exited, 0);
  await outputRead(api);
  t.like(api.logs.find((line) => line.msg === 'shutdown deadline passed; closing open connections'), { left: 1, timeoutMs: 300 });
  await t.throwsAsync(answer);
});

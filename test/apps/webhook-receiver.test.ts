// The example receiver as users run it: a real process, fed by a real kalium webhook worker.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { Webhook } from 'standardwebhooks';
import { startRedis } from '../helpers/redis-server.ts';
import { eventually } from '../helpers/webhook-receiver.ts';
import { newSecret, webhookRuntime } from '../helpers/webhook-runtime.ts';

const MAIN = fileURLToPath(new URL('../../apps/webhook-receiver/main.ts', import.meta.url));

async function startReceiverApp(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { PATH: process.env.PATH, WEBHOOK_RECEIVER_HOST: '127.0.0.1', WEBHOOK_RECEIVER_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => logs.push(JSON.parse(line) as Record<string, unknown>));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await eventually(() => {
    if (child.exitCode !== null) throw new Error(`the receiver exited: ${stderr}`);
    return logs.find((l) => l.msg === 'webhook receiver listening');
  }, 20_000);
  return { child, logs, exited, url: String(ready.url), stderr: () => stderr };
}

test('the example receiver verifies, de-duplicates and logs one JSON line per delivery', async (t) => {
  const redis = await startRedis();
  const secret = newSecret();
  const app = await startReceiverApp({ WEBHOOK_SECRET: secret });
  const runtime = await webhookRuntime(redis.url, { WEBHOOK_SECRET: secret });
  t.teardown(async () => {
    app.child.kill('SIGTERM');
    await app.exited;
    await runtime.close();
    await redis.stop();
  });
  t.regex(app.url, /^http:\/\/127\.0\.0\.1:\d+$/);

  const id = await runtime.webhooks.send(`${app.url}/hook`, { id: 'job-7', event: 'succeeded', status: 'succeeded', result: 'ok' });
  const received = await eventually(() => app.logs.find((l) => l.msg === 'webhook received'));
  t.like(received, { webhookId: id, verified: true, event: 'succeeded', jobId: 'job-7', status: 'succeeded' });

  // The same delivery again (as a retry after a lost answer would be): 204, logged as a duplicate only.
  const body = '{"id":"job-8","event":"failed"}';
  const at = new Date();
  const headers = {
    'content-type': 'application/json',
    'webhook-id': 'msg_again',
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign('msg_again', at, body),
  };
  t.is((await fetch(`${app.url}/hook`, { method: 'POST', headers, body })).status, 204);
  t.is((await fetch(`${app.url}/hook`, { method: 'POST', headers, body })).status, 204);
  // Forged: 401 and logged as rejected.
  t.is((await fetch(`${app.url}/hook`, { method: 'POST', headers: { ...headers, 'webhook-id': 'msg_forged' }, body })).status, 401);

  await eventually(() => app.logs.some((l) => l.msg === 'webhook rejected'));
  t.is(app.logs.filter((l) => l.msg === 'webhook received').length, 2);
  t.is(app.logs.filter((l) => l.msg === 'webhook duplicate ignored' && l.webhookId === 'msg_again').length, 1);
  t.like(app.logs.find((l) => l.msg === 'webhook rejected'), { status: 401 });
});

test('a bad WEBHOOK_RECEIVER_PORT stops it with a message naming the variable', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { PATH: process.env.PATH, WEBHOOK_RECEIVER_PORT: 'eighty' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.is(code, 1);
  t.regex(stderr, /WEBHOOK_RECEIVER_PORT/);
});

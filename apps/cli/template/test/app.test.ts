// Runs the app as `npm run dev` does (api + worker + its own redis-server on a free port, or the Redis
// in REDIS_URL) and calls it with kalium's client. `npm test` runs it; redis-server must be on PATH.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KaliumClient } from 'kalium/client';

let dev: ReturnType<typeof spawn>;
let client: KaliumClient;

before(async () => {
  const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', KALIUM_DEV_REDIS_PORT: String(await freePort()) };
  // The bin itself, not npx: SIGTERM must reach kalium dev, which stops the api and the worker.
  dev = spawn('node_modules/.bin/kalium', ['dev', 'app.ts'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    dev.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const listening = /"url":"(http:[^"]+)"[^\n]*"msg":"api listening"/.exec(out);
      if (listening && out.includes('"msg":"worker ready"')) resolve(listening[1]!);
    });
    dev.once('exit', (code) => reject(new Error(`kalium dev exited (${code}) before it was ready:\n${out}`)));
  });
  client = new KaliumClient({ baseUrl: url });
});

after(async () => {
  if (dev.exitCode !== null) return;
  dev.kill('SIGTERM');
  await once(dev, 'exit');
});

test('the sync route scores a text', async () => {
  assert.deepEqual(await client.run('/', { text: 'I love it' }), { score: 1 });
});

test('bad input is a 400 invalid_input', async () => {
  await assert.rejects(client.run('/', { text: '' }), { code: 'invalid_input' });
});

test('a background job scores every text', async () => {
  const { id } = await client.submit('/background', { texts: ['great', 'awful'] });
  const job = await client.wait(id, { timeoutMs: 10_000 });
  assert.equal(job.status, 'succeeded');
  assert.deepEqual(job.result, { scores: [1, -1] });
});

test('the gpu=false route answers', async () => {
  assert.deepEqual(await client.run('/ping', {}), { pong: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { CLI, cleanEnv, startKalium } from '../helpers/kalium-process.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';

const APP = fileURLToPath(new URL('../fixtures/apps/gpu-app.ts', import.meta.url));
const redis = redisForFile();

test('one JSON line per request, and never the body or a secret header, in a real api process', async (t) => {
  const apiKey = 'sk-live-7f3a9c1e5b';
  const api = await startKalium('api', APP, { REDIS_URL: redis.url, API_KEY: apiKey, LOG_LEVEL: 'debug' });
  t.teardown(() => api.kill('SIGKILL').then(() => undefined));

  const secrets = {
    body: 'body-marker-51d0e2',
    cookie: 'session=cookie-marker-8a7b',
    xApiKey: 'x-api-key-marker-2c4d',
    signature: 'v1,webhook-signature-marker-9e8f',
    query: 'query-token-marker-6b5a',
  };
  const headers = {
    authorization: `Bearer ${apiKey}`,
    cookie: secrets.cookie,
    'x-api-key': secrets.xApiKey,
    'webhook-signature': secrets.signature,
    'content-type': 'application/json',
    'x-request-id': 'req-log-test-1',
  };
  const echo = await fetch(`${api.url}/echo?token=${secrets.query}`, { method: 'POST', headers, body: JSON.stringify({ text: secrets.body }) });
  t.is(echo.status, 200);
  const boom = await fetch(`${api.url}/boom`, { method: 'POST', headers: { ...headers, 'x-request-id': 'req-log-test-2' }, body: JSON.stringify({ text: secrets.body }) });
  t.is(boom.status, 500);
  const refused = await fetch(`${api.url}/echo`, { method: 'POST', headers: { ...headers, authorization: 'Bearer wrong-key-marker-3f1e', 'x-request-id': 'req-log-test-3' }, body: JSON.stringify({ text: secrets.body }) });
  t.is(refused.status, 401);
  const invalid = await fetch(`${api.url}/echo`, { method: 'POST', headers: { ...headers, 'x-request-id': 'req-log-test-4' }, body: `{"text": "${secrets.body}"` });
  t.is(invalid.status, 400);

  const line = await api.waitForLog((l) => l.msg === 'request' && l.requestId === 'req-log-test-1');
  t.like(line, { route: '/echo', path: '/echo', method: 'POST', status: 200, level: 30 });
  t.is(typeof line.durationMs, 'number');
  t.like(await api.waitForLog((l) => l.msg === 'request' && l.requestId === 'req-log-test-2'), { route: '/boom', status: 500 });
  t.like(await api.waitForLog((l) => l.msg === 'request' && l.requestId === 'req-log-test-3'), { route: 'unmatched', status: 401 });
  t.like(await api.waitForLog((l) => l.msg === 'request' && l.requestId === 'req-log-test-4'), { route: '/echo', status: 400 });
  t.is(api.logs.filter((l) => l.msg === 'request' && l.requestId === 'req-log-test-1').length, 1, 'exactly one line per request');

  await api.kill('SIGTERM');
  if (!api.child.stdout!.closed) await once(api.child.stdout!, 'close'); // every line read
  const output = `${JSON.stringify(api.logs)}\n${api.stderr()}`;
  t.true(output.includes('secret detail'), 'the failing handler was logged (so the output is the real thing)');
  for (const secret of [apiKey, 'wrong-key-marker-3f1e', ...Object.values(secrets)]) {
    t.false(output.includes(secret), `the log holds ${secret}`);
  }
});

test('--pretty (what kalium dev passes) prints lines for humans instead of JSON', async (t) => {
  const child = spawn(process.execPath, [CLI, 'api', APP, '--pretty'], {
    env: cleanEnv({ REDIS_URL: redis.url }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => void child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (!out.includes('init finished') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.true(out.includes('api listening'), out);
  t.true(out.includes('init finished'), out);
  const first = out.split('\n').find((l) => l.includes('api listening'))!;
  t.throws(() => JSON.parse(first), undefined, 'a pretty line is not JSON');
  t.regex(first, /INFO/);
});

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { Redis, type RedisOptions } from 'ioredis';
import app from '../fixtures/apps/counter-app.ts';
import { appKeys } from '../../libs/kalium/redis/keys.ts';
import { freePort } from '../helpers/free-port.ts';
import { startInProcessApi } from '../helpers/in-process-api.ts';
import { startKalium } from '../helpers/kalium-process.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

const GPU_APP = fileURLToPath(new URL('../fixtures/apps/gpu-app.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kalium-sentinel-tls-'));
const children: ChildProcess[] = [];
let master: RedisServer;

test.after.always(async () => {
  for (const child of children) child.kill('SIGKILL');
  await master?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function untilAnswers(options: RedisOptions, ask: (redis: Redis) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const redis = new Redis({ ...options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {});
    try {
      await redis.connect();
      if (await ask(redis)) return;
    } catch {
      // not yet
    } finally {
      redis.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the server never answered');
}

async function untilReady(url: string): Promise<number> {
  let status = 0;
  for (let i = 0; i < 100; i++) {
    status = (await fetch(`${url}/readyz`)).status;
    if (status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return status;
}

test.serial('redis-sentinel:// finds the master through a real Sentinel; the Store and the api work through it', async (t) => {
  master = await startRedis();
  const port = await freePort();
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor mymaster 127.0.0.1 ${master.port} 1`, ''].join('\n'));
  children.push(spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }));
  await untilAnswers({ host: '127.0.0.1', port }, async (redis) => (await redis.call('SENTINEL', 'get-master-addr-by-name', 'mymaster')) !== null);

  const api = await startInProcessApi(app, { REDIS_URL: `redis-sentinel://127.0.0.1:${port}?name=mymaster` });
  t.teardown(() => api.close());
  t.is(await untilReady(api.url), 200);
  await app.store.set('via-sentinel', 'yes', { ttl: 60 });
  t.is(await master.client().get(appKeys('counter').store('via-sentinel')), '"yes"', 'written on the master Sentinel named');
});

test.serial('rediss:// connects over TLS and verifies the server certificate', async (t) => {
  const pem = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', pem('ca.key'), '-out', pem('ca.crt'), '-days', '1', '-subj', '/CN=kalium test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', pem('server.key'), '-out', pem('server.csr'), '-subj', '/CN=localhost');
  writeFileSync(pem('san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', pem('server.csr'), '-CA', pem('ca.crt'), '-CAkey', pem('ca.key'), '-CAcreateserial', '-out', pem('server.crt'), '-days', '1', '-extfile', pem('san.ext'));
  const port = await freePort();
  children.push(
    spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', pem('server.crt'),
      '--tls-key-file', pem('server.key'), '--tls-ca-cert-file', pem('ca.crt'), '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' }),
  );
  await untilAnswers({ host: 'localhost', port, tls: { ca: readFileSync(pem('ca.crt')) } }, async (redis) => (await redis.ping()) === 'PONG');

  // Operators give their CA to Node the standard way; kalium needs no option of its own.
  const trusted = await startKalium('api', GPU_APP, { REDIS_URL: `rediss://localhost:${port}`, NODE_EXTRA_CA_CERTS: pem('ca.crt'), KALIUM_DEVICE: 'tls' });
  t.teardown(() => trusted.kill('SIGKILL').then(() => undefined));
  t.is(await untilReady(trusted.url), 200);
  const answer = await fetch(`${trusted.url}/slow`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ms":1}' });
  t.is(answer.status, 200, 'the GPU lease works over TLS');

  const untrusted = await startKalium('api', GPU_APP, { REDIS_URL: `rediss://localhost:${port}`, KALIUM_DEVICE: 'tls' });
  t.teardown(() => untrusted.kill('SIGKILL').then(() => undefined));
  t.is((await fetch(`${untrusted.url}/readyz`)).status, 503, 'a server certificate from an unknown CA is refused');
});

// SPEC §2: `kalium dev` runs api + worker, starting a local redis-server when none is configured or reachable.
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { redisAnswers } from '../../libs/kalium/process/embedded-redis.ts';
import { CLI, cleanEnv, startKalium } from '../helpers/kalium-process.ts';
import { freePort } from '../helpers/free-port.ts';
import { startRedis } from '../helpers/redis-server.ts';

const APP = resolve('test/fixtures/apps/gpu-app.ts');

const answers = (port: number) => redisAnswers(`redis://127.0.0.1:${port}`);

test('with no REDIS_URL and nothing on its port, kalium dev starts redis-server (data in .kalium/) and stops it on exit', async (t) => {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), 'kalium-dev-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  t.false(await answers(port));
  const dev = await startKalium('dev', APP, { KALIUM_DEV_REDIS_PORT: String(port) }, { cwd });
  t.teardown(() => void dev.kill('SIGKILL'));
  t.true(await answers(port), 'the embedded redis-server answers');
  t.true(existsSync(join(cwd, '.kalium')), 'its data directory is .kalium/');
  t.regex(dev.stderr(), /started redis-server/);
  const res = await fetch(`${dev.url}/slow`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  t.is(res.status, 200);
  await dev.waitForLog((line) => line.msg === 'worker ready');
  t.is(await dev.kill('SIGTERM'), 0);
  t.false(await answers(port), 'the embedded redis-server was stopped');
});

test('kalium dev says when it reuses a Redis already answering on its port, and which', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const dev = await startKalium('dev', APP, { KALIUM_DEV_REDIS_PORT: String(redis.port) });
  t.teardown(() => void dev.kill('SIGKILL'));
  t.regex(dev.stderr(), new RegExp(`using the Redis already running at redis://127\\.0\\.0\\.1:${redis.port}`));
  t.is(await dev.kill('SIGTERM'), 0);
  t.true(await answers(redis.port), 'a Redis kalium did not start is left running');
});

test('with no redis-server on PATH, kalium dev exits non-zero naming the three ways out', async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'dev', APP], {
    env: { ...cleanEnv({ KALIUM_DEV_REDIS_PORT: String(port) }), PATH: '/nonexistent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  t.is(code, 1);
  t.regex(stderr, /install redis-server/);
  t.regex(stderr, /REDIS_URL/);
  t.regex(stderr, /docker compose up/);
});

test('the CLI refuses unknown commands and missing apps with its usage', async (t) => {
  for (const args of [['serve', APP], ['api'], []]) {
    const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.on('exit', done));
    t.is(code, 2, args.join(' '));
    t.regex(out, /usage: kalium <command> <app>/);
  }
});

test('app.serve() in a file run directly does what kalium dev does', async (t) => {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), 'kalium-serve-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './apps/cli/register-source.mjs', resolve('test/fixtures/apps/serve-app.ts')], {
    env: cleanEnv({ KALIUM_DEV_REDIS_PORT: String(port) }),
    cwd: resolve('.'),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // serve() starts kalium dev, which starts more: the teardown kills the whole group
  });
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group has ended already
    }
  });
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`no api listening line: ${out}`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"url":"(http:[^"]+)".*"msg":"api listening"/.exec(out);
      if (match) {
        clearTimeout(timer);
        done(match[1]!);
      }
    });
  });
  let status = 0;
  for (let i = 0; i < 50 && status !== 200; i++) {
    status = (await fetch(`${url}/free`, { method: 'POST', body: '{}' })).status;
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  t.is(status, 200);
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  t.is(code, 0);
  t.false(await answers(port), 'its embedded redis-server was stopped');
});

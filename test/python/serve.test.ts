// SPEC §15: `python3 app.py` with app.serve() runs kalium dev for that file, or says how to get kalium.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { CLI, cleanEnv } from '../helpers/kalium-process.ts';
import { startRedis } from '../helpers/redis-server.ts';

const APP = resolve('test/fixtures/python/potassium_app.py');
const PYTHON = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
const PYTHONPATH = resolve('libs/python');

test('python3 app.py: app.serve() hands the file to the kalium on PATH, which serves it as kalium dev', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const bin = join(mkdtempSync(join(tmpdir(), 'kalium-serve-')), 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'kalium'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, 'kalium'), 0o755);
  const env = cleanEnv({ REDIS_URL: redis.url, PYTHONPATH, PATH: `${bin}${delimiter}${process.env.PATH}` });
  const child = spawn(PYTHON, [APP], { env, detached: true });
  const exited = new Promise<number | null>((done) => child.once('exit', done));
  t.teardown(() => {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  });
  let out = '';
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`kalium dev did not come up: ${out}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const listening = /"msg":"api listening".*?"url":"([^"]+)"|"url":"([^"]+)".*?"msg":"api listening"/.exec(out);
      // Both processes of kalium dev, the api and the worker, log init finished once their model is loaded.
      const worker = out.includes('"msg":"worker ready"') && (out.match(/"msg":"init finished"/g)?.length ?? 0) >= 2;
      if (listening && worker) {
        clearTimeout(timer);
        done(listening[1] ?? listening[2]!);
      }
    });
  });
  const res = await fetch(`${url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"prompt": "served"}' });
  t.deepEqual(await res.json(), { outputs: 'SERVED' });
  // exec'd, not a child: the process python3 started is kalium dev itself, and SIGTERM stops it.
  process.kill(child.pid!, 'SIGTERM');
  t.is(await exited, 0);
});

test('python3 app.py with no kalium CLI around says how to get it and exits 1', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kalium-serve-'));
  copyFileSync(APP, join(dir, 'app.py'));
  const run = spawnSync(PYTHON, ['app.py'], { cwd: dir, env: { PYTHONPATH, PATH: '/usr/bin:/bin' }, encoding: 'utf8', timeout: 30_000 });
  t.is(run.status, 1);
  t.regex(run.stderr, /kalium's CLI was not found/);
  t.regex(run.stderr, /npm install kalium/);
  t.regex(run.stderr, /PYTHONPATH="\$\(npx kalium python-path\)"/);
});

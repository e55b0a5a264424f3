// SPEC §12: Ctrl-C on `kalium dev` (SIGINT to the terminal's whole process group) stops it as SIGTERM
// does: the running job finishes and is not run again.
import test from 'ava';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, cleanEnv, startKalium } from '../helpers/kalium-process.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';

const APP = resolve('test/fixtures/apps/jobs-app.ts');
const redis = redisForFile();

test('Ctrl-C to kalium dev’s process group: the running job finishes once, nothing is re-run', async (t) => {
  // detached: a process group of its own, with dev as its leader, as a shell gives a foreground job.
  const dev = spawn(process.execPath, [CLI, 'dev', APP], {
    env: cleanEnv({ REDIS_URL: redis.url }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  dev.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  dev.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((done) => dev.once('exit', done));
  t.teardown(() => {
    try {
      process.kill(-dev.pid!, 'SIGKILL');
    } catch {}
  });
  const deadline = Date.now() + 60_000;
  while (!(out.includes('"msg":"worker ready"') && /"msg":"api listening"/.test(out))) {
    if (Date.now() > deadline) throw new Error(`kalium dev did not come up: ${out}`);
    await sleep(50);
  }
  t.regex(out, /kalium dev: using the Redis at redis:\/\/127\.0\.0\.1:\d+ \(REDIS_URL\)/);
  const url = /"url":"(http:[^"]+)"[^\n]*"msg":"api listening"/.exec(out)![1]!;
  const submitted = await fetch(`${url}/counted`, { method: 'POST', body: JSON.stringify({ ms: 1500 }), headers: { 'content-type': 'application/json' } });
  const { id } = (await submitted.json()) as { id: string };
  while (((await (await fetch(`${url}/jobs/${id}`)).json()) as { status: string }).status !== 'running') await sleep(20);

  process.kill(-dev.pid!, 'SIGINT');
  t.is(await exited, 0);
  t.notRegex(out, /second signal/);

  const api = await startKalium('api', APP, { REDIS_URL: redis.url });
  t.teardown(() => void api.kill('SIGKILL'));
  const job = (await (await fetch(`${api.url}/jobs/${id}`)).json()) as { status: string; attempts: number };
  t.is(job.status, 'succeeded');
  t.is(job.attempts, 1);
  const client = redis.client();
  t.teardown(() => client.disconnect());
  t.is(await client.get(`runs:${id}`), '1', 'the handler ran once');
});

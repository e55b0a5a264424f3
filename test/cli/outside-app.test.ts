// SPEC §3: `import { Kalium } from 'kalium'` works from an app file outside this repository, with kalium
// installed as a package (here: copied into a fresh project's node_modules, as npm would).
import test from 'ava';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { cleanEnv } from '../helpers/kalium-process.ts';
import { startRedis } from '../helpers/redis-server.ts';

test('an app in another project imports kalium from node_modules and runs under its kalium bin', async (t) => {
  const redis = await startRedis();
  const project = mkdtempSync(join(tmpdir(), 'kalium-user-'));
  t.teardown(async () => {
    rmSync(project, { recursive: true, force: true });
    await redis.stop();
  });
  const pkg = join(project, 'node_modules', 'kalium');
  mkdirSync(pkg, { recursive: true });
  for (const part of ['libs', 'apps', 'package.json']) cpSync(resolve(part), join(pkg, part), { recursive: true });
  symlinkSync(resolve('node_modules'), join(pkg, 'node_modules'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true }));
  writeFileSync(
    join(project, 'app.mts'),
    [
      "import { Kalium, Response } from 'kalium';",
      "const app = new Kalium<{ greeting: string }>('outside');",
      "app.init(async () => ({ greeting: 'hello from outside' }));",
      "app.handler('/', { gpu: true }, async (context) => Response.json({ said: context.greeting }));",
      'export default app;',
    ].join('\n'),
  );

  const child = spawn(process.execPath, [join(pkg, 'apps/cli/kalium.mjs'), 'api', 'app.mts'], {
    cwd: project,
    env: cleanEnv({ REDIS_URL: redis.url }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the api did not start: ${out}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!out.includes('"msg":"init finished"')) return;
      clearTimeout(timer);
      done(/"url":"(http:[^"]+)"/.exec(out)![1]!);
    });
  });
  const res = await fetch(url, { method: 'POST' });
  t.is(res.status, 200);
  t.deepEqual(await res.json(), { said: 'hello from outside' });
});

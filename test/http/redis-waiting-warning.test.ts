// Issue 11: the "Redis is not answering yet" warning names the URL it tried (never its password),
// and says what waits for it in that process: requests in an api, jobs in a worker.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { freePort } from '../helpers/free-port.ts';
import { CLI, cleanEnv } from '../helpers/kalium-process.ts';

const APP = fileURLToPath(new URL('../fixtures/apps/edge-app.ts', import.meta.url));

/** Starts `kalium <role>` against a Redis URL nothing answers on; resolves with its first warning about it. */
async function waitingWarning(role: 'api' | 'worker', redisUrl: string): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, [CLI, role, APP], { env: cleanEnv({ REDIS_URL: redisUrl }), stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no warning from the ${role} within 20 s`)), 20_000);
      createInterface({ input: child.stdout! }).on('line', (text) => {
        if (!text.includes('not answering yet')) return;
        clearTimeout(timer);
        resolve(JSON.parse(text) as Record<string, unknown>);
      });
      child.once('exit', (code) => reject(new Error(`the ${role} exited (${code}) first`)));
    });
  } finally {
    child.kill('SIGKILL');
  }
}

for (const role of ['api', 'worker'] as const) {
  test(`the ${role}'s warning names the Redis URL without its password${role === 'worker' ? ' and does not talk about requests' : ''}`, async (t) => {
    const port = await freePort();
    const line = await waitingWarning(role, `redis://user:s3cret-pw@127.0.0.1:${port}/0`);
    const message = String(line.msg);
    t.is(line.level, 40);
    t.true(message.includes(`redis://user:[hidden]@127.0.0.1:${port}/0`), message);
    t.false(JSON.stringify(line).includes('s3cret-pw'));
    if (role === 'api') t.regex(message, /requests/);
    else {
      t.notRegex(message, /request/i);
      t.regex(message, /jobs/);
    }
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../libs/kalium/config/config.ts';
import { devRedis } from '../../libs/kalium/process/embedded-redis.ts';
import { exitOnStartupError } from '../../libs/kalium/process/shutdown.ts';

const CLI = fileURLToPath(new URL('./kalium.mjs', import.meta.url));

/**
 * `kalium dev <app>`: finds or starts Redis, then runs the api and the worker as two child processes
 * (as in production: the worker's model calls never block the api's event loop). Either child exiting
 * stops the other, then the embedded Redis. Logs are pretty on a terminal, JSON lines otherwise.
 */
export async function dev(appFile: string): Promise<void> {
  let redis;
  try {
    const config = loadConfig();
    redis = await devRedis({ redisUrl: config.redisUrl, port: config.devRedisPort });
  } catch (error) {
    exitOnStartupError(error);
  }
  if (redis.embedded) process.stderr.write(`kalium dev: started redis-server at ${redis.url} (data in .kalium/)\n`);
  const env = { ...process.env, REDIS_URL: redis.url, NODE_ENV: process.env.NODE_ENV ?? 'development' };
  const children: ChildProcess[] = ['api', 'worker'].map((role) =>
    spawn(process.execPath, [CLI, role, appFile, ...(process.stdout.isTTY ? ['--pretty'] : [])], { stdio: 'inherit', env }),
  );

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await Promise.all(children.map((child) => stopChild(child)));
    await redis.stop();
    process.exit(code);
  };
  for (const child of children) child.on('exit', (code) => void stop(code ?? 1));
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}

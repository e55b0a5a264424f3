import type { ChildProcess } from 'node:child_process';
import { loadConfig } from '../../libs/kalium/config/config.ts';
import { devRedis, type DevRedis } from '../../libs/kalium/process/embedded-redis.ts';
import { spawnKaliumChild, stopChild } from '../../libs/kalium/process/kalium-child.ts';
import { exitOnStartupError } from '../../libs/kalium/process/shutdown.ts';
import { redactRedisUrl } from '../../libs/kalium/redis/redis-url.ts';
import { CLI } from './cli-path.ts';

/**
 * `kalium dev <app>`: finds or starts Redis, then runs the api and the worker as two child processes
 * (as in production: the worker's model calls never block the api's event loop). Either child exiting
 * stops the other, then the embedded Redis. Ctrl-C (SIGINT to the terminal's whole process group) and
 * SIGTERM both stop the children with one SIGTERM each, so a running job finishes and is not re-run.
 * Logs are pretty on a terminal, JSON lines otherwise.
 */
export async function dev(appFile: string): Promise<void> {
  let redis;
  try {
    const config = loadConfig();
    redis = await devRedis({ redisUrl: config.redisUrl, port: config.devRedisPort });
  } catch (error) {
    exitOnStartupError(error);
  }
  process.stderr.write(`kalium dev: ${describe(redis)}\n`);
  const env = { ...process.env, REDIS_URL: redis.url, NODE_ENV: process.env.NODE_ENV ?? 'development' };
  const children: ChildProcess[] = ['api', 'worker'].map((role) =>
    spawnKaliumChild(CLI, [role, appFile, ...(process.stdout.isTTY ? ['--pretty'] : [])], env),
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

function describe(redis: DevRedis): string {
  const url = redactRedisUrl(redis.url);
  if (redis.source === 'REDIS_URL') return `using the Redis at ${url} (REDIS_URL)`;
  if (redis.source === 'found') return `using the Redis already running at ${url} (set REDIS_URL to use another)`;
  return `started redis-server at ${url} (data in .kalium/)`;
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';

export interface DevRedis {
  url: string;
  /** Where it came from: `REDIS_URL`, found answering on the dev port, or started by kalium (which then stops it). */
  source: 'REDIS_URL' | 'found' | 'embedded';
  stop(): Promise<void>;
}

export const NO_REDIS_MESSAGE = [
  'kalium dev needs Redis, and none was found. Any one of these will do:',
  '  1. install redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis), and kalium dev starts it for you;',
  '  2. set REDIS_URL to a Redis you run, e.g. REDIS_URL=redis://127.0.0.1:6379;',
  '  3. run everything in containers: docker compose up',
].join('\n');

/**
 * The Redis `kalium dev` uses: `REDIS_URL` when set; else one already answering on 127.0.0.1:<port>;
 * else a `redis-server` from PATH started as a child on that port, with its data (AOF) under `.kalium/`.
 * @throws Error with {@link NO_REDIS_MESSAGE} when there is no redis-server to start.
 */
export async function devRedis(options: { redisUrl: string | undefined; port: number; dataDir?: string }): Promise<DevRedis> {
  const noop = async () => {};
  if (options.redisUrl) return { url: options.redisUrl, source: 'REDIS_URL', stop: noop };
  const url = `redis://127.0.0.1:${options.port}`;
  if (await redisAnswers(url)) return { url, source: 'found', stop: noop };

  const dir = resolve(options.dataDir ?? '.kalium');
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    'redis-server',
    ['--port', String(options.port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
    // Its own process group: Ctrl-C's SIGINT must not stop Redis under a worker finishing its job.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const started = await new Promise<boolean>((done) => {
    child.once('error', () => done(false)); // ENOENT: not on PATH
    child.once('spawn', () => done(true));
  });
  if (!started) throw new Error(NO_REDIS_MESSAGE);
  await waitUntilAnswering(url, child);
  return { url, source: 'embedded', stop: () => stopChild(child) };
}

/** Whether a Redis answers PING at `url` within ~300 ms (no retries). */
export async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 300, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function waitUntilAnswering(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} at start-up`);
    if (await redisAnswers(url)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not answer within 10 s of starting');
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}

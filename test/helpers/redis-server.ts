import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';

/** A real redis-server on a free port, private to one test file (never the machine's 6379). */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** A fresh client; closed by `stop()`. */
  client(): Redis;
  /** SIGKILLs the server (its AOF, when on, survives). */
  kill(): Promise<void>;
  /** Stops (SIGSTOP) or resumes (SIGCONT) the server: a hung Redis whose connections stay open. */
  freeze(): void;
  thaw(): void;
  /** Starts it again on the same port and directory. */
  restart(): Promise<void>;
  /** Stops the server, closes clients, removes its directory. */
  stop(): Promise<void>;
}

export async function startRedis(options: { appendonly?: boolean; args?: string[] } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kalium-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  const clients: Redis[] = [];
  let child: ChildProcess | undefined;

  const launch = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', options.appendonly ? 'yes' : 'no'];
    if (options.appendonly) args.push('--appendfsync', 'always');
    child = spawn('redis-server', [...args, ...(options.args ?? [])], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
        await new Promise((r) => setTimeout(r, 25));
      } finally {
        probe.disconnect();
      }
    }
  };
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((done) => {
      running.once('exit', () => done());
      running.kill('SIGKILL');
    });
  };

  await launch();
  return {
    port,
    url,
    dir,
    client() {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 });
      redis.on('error', () => {});
      clients.push(redis);
      return redis;
    },
    kill,
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
    restart: launch,
    async stop() {
      for (const client of clients) client.disconnect();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

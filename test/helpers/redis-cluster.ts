import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';

/** A real Redis Cluster of three masters (no replicas) on free ports, private to one test file. */
export interface RedisCluster {
  /** `redis-cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3` */
  readonly url: string;
  readonly ports: number[];
  /** A plain client to one node (for CLUSTER commands). */
  node(index: number): Redis;
  stop(): Promise<void>;
}

/**
 * Starts three `redis-server --cluster-enabled yes` nodes (each with its own cluster bus port, so
 * no port+10000 clash), joins them with `redis-cli --cluster create`, and waits for `cluster_state:ok`
 * on every node.
 */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'kalium-cluster-'));
  const children: ChildProcess[] = [];
  const clients: Redis[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const busPort = await freePort();
      ports.push(port);
      children.push(
        spawn(
          'redis-server',
          ['--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1', '--dir', dir,
            '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '5000',
            '--save', '', '--appendonly', 'no'],
          { stdio: 'ignore' },
        ),
      );
    }
    for (const port of ports) await untilAnswering(port);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) await untilClusterOk(port);
  } catch (error) {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis-cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`,
    ports,
    node(index) {
      const client = new Redis({ host: '127.0.0.1', port: ports[index]!, maxRetriesPerRequest: 1 });
      client.on('error', () => {});
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.disconnect();
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGKILL');
            }),
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 60_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(' ')} failed: ${stderr || stdout || error.message}`)) : resolve(stdout),
    );
  });
}

async function probe<T>(port: number, ask: (redis: Redis) => Promise<T>): Promise<T | undefined> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await ask(redis);
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

async function untilAnswering(port: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await probe(port, (redis) => redis.ping())) === 'PONG') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`cluster node on ${port} did not start`);
}

async function untilClusterOk(port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const info = await probe(port, (redis) => redis.cluster('INFO') as Promise<string>);
    if (info?.includes('cluster_state:ok')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`cluster node on ${port} never reported cluster_state:ok`);
}

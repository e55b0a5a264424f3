import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/free-port.ts';
import { startKalium, type KaliumProcess } from '../helpers/kalium-process.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

const APP = fileURLToPath(new URL('./chaos-app.ts', import.meta.url));

/** Limits the suite's apis run with: short enough that a stalled request's 408 comes within the run. */
export const EDGE_ENV = {
  HEADERS_TIMEOUT_MS: '3000',
  REQUEST_TIMEOUT_MS: '5000',
  BODY_LIMIT: '64kb',
  SHUTDOWN_TIMEOUT_MS: '5000',
  // The redirecting webhook target below is on 127.0.0.1; two quick attempts keep its deliveries short.
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_ATTEMPTS: '2',
  WEBHOOK_BACKOFF_MS: '100',
};

/** One api or worker of the cluster: restarted in place (an api on the same port) after each kill. */
export class Slot {
  process: KaliumProcess | undefined;
  /** Bumped at every start, so a request can tell that its api died under it. */
  generation = 0;
  starts = 0;
  /** Error-level log lines of the processes this slot ran and stopped. */
  readonly stoppedErrorLines: string[] = [];
  #starting: Promise<void> | undefined;

  constructor(
    readonly role: 'api' | 'worker',
    readonly index: number,
    readonly env: Record<string, string>,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get up(): boolean {
    const child = this.process?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.up ? this.process?.child.pid : undefined;
  }

  /** Starts the process (retrying a start that fails, e.g. while Redis is down) and waits until it is up. */
  start(): Promise<void> {
    this.#starting ??= (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const env = { ...this.env, ...(this.role === 'api' ? { PORT: String(this.port) } : {}) };
          const started = await startKalium(this.role, APP, env, { timeoutMs: 60_000 });
          started.child.stdout!.on('data', () => {}); // keep the pipe flowing whatever happens to the parser
          this.process = started;
          this.generation++;
          this.starts++;
          return;
        } catch (error) {
          if (attempt >= 5) throw error;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    })().finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  /** Sends `signal` and waits for the exit; counts the error-level lines the process logged. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    const running = this.process;
    if (!running) return;
    this.process = undefined;
    await running.kill(signal);
    for (const line of running.logs) if (Number(line.level) >= 50) this.stoppedErrorLines.push(describe(line));
  }

  /** Every error-level log line so far, of this slot's stopped processes and its running one. */
  errorLogLines(): string[] {
    const running = (this.process?.logs ?? []).filter((line) => Number(line.level) >= 50).map(describe);
    return [...this.stoppedErrorLines, ...running].map((text) => `${this.role} ${this.index}: ${text}`);
  }
}

function describe(line: Record<string, unknown>): string {
  const err = line.err as { message?: string } | undefined;
  return `${String(line.msg)}${err?.message ? `: ${err.message}` : ''}`;
}

/**
 * A webhook target that answers every delivery with a redirect to itself (`/followed`): kalium must
 * never follow one (SPEC §8), so `/followed` must never be hit.
 */
export interface RedirectingTarget {
  /** The URL to give as `X-Webhook-Url`. */
  readonly url: string;
  /** Deliveries that reached the redirect. */
  redirected: number;
  /** Requests that followed it: a failure. */
  followed: number;
}

async function startRedirectingTarget(): Promise<RedirectingTarget & { server: Server }> {
  const target = { url: '', redirected: 0, followed: 0, server: undefined as unknown as Server };
  target.server = createServer((req, res) => {
    req.resume();
    if (req.url?.startsWith('/followed')) {
      target.followed++;
      res.end('ok');
      return;
    }
    target.redirected++;
    res.writeHead(302, { Location: `${target.url.replace('/redirect', '')}/followed` }).end();
  });
  await new Promise<void>((resolve) => target.server.listen(0, '127.0.0.1', resolve));
  target.url = `http://127.0.0.1:${(target.server.address() as AddressInfo).port}/redirect`;
  return target;
}

export interface Cluster {
  redis: RedisServer;
  apis: Slot[];
  workers: Slot[];
  webhookTarget: RedirectingTarget;
  close(): Promise<void>;
}

/** A redis-server with AOF `appendfsync always`, 2 apis and 2 workers (each worker its own GPU device). */
export async function startCluster(): Promise<Cluster> {
  const redis = await startRedis({ appendonly: true, args: ['--enable-debug-command', 'yes'] });
  const env = { REDIS_URL: redis.url, LOG_LEVEL: 'info', ...EDGE_ENV };
  const apis = await Promise.all([0, 1].map(async (i) => new Slot('api', i, env, await freePort())));
  const workers = [0, 1].map((i) => new Slot('worker', i, { ...env, KALIUM_DEVICE: `chaos-gpu-${i}` }, 0));
  await Promise.all([...apis, ...workers].map((slot) => slot.start()));
  const webhookTarget = await startRedirectingTarget();
  return {
    redis,
    apis,
    workers,
    webhookTarget,
    async close() {
      await Promise.all([...apis, ...workers].map((slot) => slot.stop('SIGKILL')));
      await redis.stop();
      webhookTarget.server.close();
    },
  };
}

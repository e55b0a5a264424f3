import { z } from 'zod';
import { ConfigError } from '../errors/kalium-error.ts';
import { parseRedisUrl, redactRedisUrl } from '../redis/redis-url.ts';
import { parseByteSize } from './byte-size.ts';

/**
 * Everything kalium reads from the environment, parsed and validated once at start-up.
 * Nothing else in kalium reads `process.env`.
 */
export interface Config {
  /** Redis URL: `redis://`, `rediss://`, `redis-sentinel://…?name=`, `redis-cluster://h1:p1,h2:p2` (+ TLS forms; see redis-url.ts); undefined when not set. */
  redisUrl: string | undefined;
  /** @defaultValue '0.0.0.0' */
  host: string;
  /** @defaultValue 8000 */
  port: number;
  /** The GPU lease's device name; processes naming the same device share one lease. @defaultValue 'default' */
  device: string;
  /** Largest accepted request body in bytes (`BODY_LIMIT`, e.g. `10mb`). @defaultValue 10 MiB */
  bodyLimit: number;
  /** Seconds finished jobs and their results are kept. @defaultValue 3600 */
  resultTtl: number;
  /** Most jobs waiting in a queue before submits get 503 `queue_full`. @defaultValue 10000 */
  queueMax: number;
  apiKey: string | undefined;
  adminToken: string | undefined;
  /** Standard Webhooks secret, `whsec_<base64>`. */
  webhookSecret: string | undefined;
  /** @defaultValue false */
  webhookAllowPrivate: boolean;
  /** Time allowed for one webhook attempt, connect to response headers. @defaultValue 10000 */
  webhookTimeoutMs: number;
  /** Attempts per webhook delivery, the first included. @defaultValue 8 */
  webhookAttempts: number;
  /** Delay before a webhook's first retry; doubles on each retry, with jitter. @defaultValue 1000 */
  webhookBackoffMs: number;
  /** Longest delay between two attempts of a webhook. @defaultValue 3600000 */
  webhookBackoffMaxMs: number;
  /** Deliveries the webhook worker makes at once. @defaultValue 16 */
  webhookConcurrency: number;
  /** @defaultValue 'info' */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** @defaultValue 'production' */
  nodeEnv: string;
  /** GPU lease time-to-live in ms; the holder renews it every third of that. @defaultValue 5000 */
  leaseTtlMs: number;
  /**
   * Port of the worker's own /metrics and /healthz server; 0 picks a free one. Unset: 9100, or a free
   * port when 9100 is taken (a second worker on the host), logged. Set: that port or a start-up error.
   */
  metricsPort: number | undefined;
  /**
   * `KALIUM_DEVICES=0,1,2,3` (or `kalium worker --devices`): the GPUs a `kalium worker` supervises one
   * worker process each for; undefined runs one worker in this process.
   */
  devices: string[] | undefined;
  /** Serve `GET /openapi.json` and the `/docs` reference page (`OPENAPI=false` turns both off). @defaultValue true */
  openApi: boolean;
  /** How long a closing api waits for in-flight requests. @defaultValue 10000 */
  shutdownTimeoutMs: number;
  /** Time a client has to send a request's headers before it gets 408 (`HEADERS_TIMEOUT_MS`). @defaultValue 10000 */
  headersTimeoutMs: number;
  /**
   * Time a client has to send a whole request, headers and body, before it gets 408
   * (`REQUEST_TIMEOUT_MS`; at least HEADERS_TIMEOUT_MS). The handler's own time is not counted. @defaultValue 30000
   */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (`KEEP_ALIVE_TIMEOUT_MS`). @defaultValue 65000 */
  keepAliveTimeoutMs: number;
  /** Where `kalium dev` looks for a local Redis, and starts its own when none answers. @defaultValue 6379 */
  devRedisPort: number;
  /**
   * A worker's lock on a running job (`KALIUM_JOB_LOCK_MS`), renewed every third of it from a thread of
   * its own while the job runs. A job whose worker died runs again once the lock has lapsed and the next
   * stalled check has seen it: within this plus `stalledIntervalMs` (7 s by default, SPEC §17's 10 s with
   * room). Shorter locks recover sooner but cost a worker frozen that long (a VM pause) its job.
   * @defaultValue 5000
   */
  jobLockMs: number;
  /** How often a worker looks for running jobs whose worker died (`KALIUM_STALLED_INTERVAL_MS`). @defaultValue 2000 */
  stalledIntervalMs: number;
  /**
   * Workers a job may lose (each died while running its handler) before it fails with `worker_lost`
   * (`KALIUM_MAX_WORKER_LOSSES`), so a job that kills every worker does not loop forever. @defaultValue 5
   */
  maxWorkerLosses: number;
  /** The interpreter that runs a `.py` app's model process (`KALIUM_PYTHON`). @defaultValue 'python3' from PATH */
  python: string;
}

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const nonEmpty = z.string().min(1, 'expected a non-empty value');

const schema = {
  REDIS_URL: z
    .string()
    .superRefine((url, ctx) => {
      try {
        parseRedisUrl(url);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    .optional(),
  HOST: nonEmpty.default('0.0.0.0'),
  PORT: int(0, 65535).default(8000),
  KALIUM_DEVICE: z.string().regex(/^[\w.:-]{1,64}$/, 'expected 1-64 of [A-Za-z0-9_.:-]').default('default'),
  BODY_LIMIT: z
    .string()
    .transform((v, ctx) => {
      const n = parseByteSize(v);
      if (n === undefined || n < 1) ctx.addIssue({ code: 'custom', message: 'expected a size like 10mb, 512kb or 1048576' });
      return n ?? 0;
    })
    .default(10 * 1024 * 1024),
  RESULT_TTL: int(1, 30 * 24 * 3600).default(3600),
  QUEUE_MAX: int(1, 10_000_000).default(10_000),
  API_KEY: nonEmpty.optional(),
  ADMIN_TOKEN: nonEmpty.optional(),
  WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/, 'expected whsec_ followed by a base64 secret of at least 16 characters')
    .optional(),
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  WEBHOOK_TIMEOUT_MS: int(1, 600_000).default(10_000),
  WEBHOOK_ATTEMPTS: int(1, 100).default(8),
  WEBHOOK_BACKOFF_MS: int(0, 86_400_000).default(1000),
  WEBHOOK_BACKOFF_MAX_MS: int(0, 86_400_000).default(3_600_000),
  WEBHOOK_CONCURRENCY: int(1, 1000).default(16),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: nonEmpty.default('production'),
  KALIUM_LEASE_TTL_MS: int(500, 3_600_000).default(5000),
  METRICS_PORT: int(0, 65535).optional(),
  KALIUM_DEVICES: z
    .string()
    .regex(/^\s*[\w.:-]{1,64}\s*(,\s*[\w.:-]{1,64}\s*)*$/, 'expected a comma list of device ids such as 0,1,2,3')
    .transform((list) => list.split(',').map((id) => id.trim()))
    .refine((ids) => new Set(ids).size === ids.length, 'a device is named twice')
    .optional(),
  OPENAPI: bool.default(true),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  HEADERS_TIMEOUT_MS: int(100, 600_000).default(10_000),
  REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  // Longer than common load balancers' idle timeout (60 s), so the balancer closes first, never kalium mid-request.
  KEEP_ALIVE_TIMEOUT_MS: int(100, 3_600_000).default(65_000),
  KALIUM_DEV_REDIS_PORT: int(1, 65535).default(6379),
  KALIUM_JOB_LOCK_MS: int(500, 3_600_000).default(5000),
  KALIUM_STALLED_INTERVAL_MS: int(100, 3_600_000).default(2000),
  KALIUM_MAX_WORKER_LOSSES: int(1, 1000).default(5),
  KALIUM_PYTHON: nonEmpty.default('python3'),
};

/** The variables kalium reads, for docs and error messages. */
export const CONFIG_VARIABLES = Object.keys(schema);

/**
 * Parses and validates the environment. Empty strings count as unset.
 * @throws ConfigError naming every variable that has a bad value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, string> = {};
  for (const name of CONFIG_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[name] = value;
  }
  const parsed = z.object(schema).safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `${name}=${JSON.stringify(shown(name, raw[name] ?? ''))}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  if (c.REQUEST_TIMEOUT_MS < c.HEADERS_TIMEOUT_MS) {
    throw new ConfigError(
      `Invalid configuration: REQUEST_TIMEOUT_MS=${JSON.stringify(String(c.REQUEST_TIMEOUT_MS))}: expected at least HEADERS_TIMEOUT_MS (${c.HEADERS_TIMEOUT_MS}), since the headers are part of the request`,
    );
  }
  return {
    redisUrl: c.REDIS_URL,
    host: c.HOST,
    port: c.PORT,
    device: c.KALIUM_DEVICE,
    bodyLimit: c.BODY_LIMIT,
    resultTtl: c.RESULT_TTL,
    queueMax: c.QUEUE_MAX,
    apiKey: c.API_KEY,
    adminToken: c.ADMIN_TOKEN,
    webhookSecret: c.WEBHOOK_SECRET,
    webhookAllowPrivate: c.WEBHOOK_ALLOW_PRIVATE,
    webhookTimeoutMs: c.WEBHOOK_TIMEOUT_MS,
    webhookAttempts: c.WEBHOOK_ATTEMPTS,
    webhookBackoffMs: c.WEBHOOK_BACKOFF_MS,
    webhookBackoffMaxMs: c.WEBHOOK_BACKOFF_MAX_MS,
    webhookConcurrency: c.WEBHOOK_CONCURRENCY,
    logLevel: c.LOG_LEVEL,
    nodeEnv: c.NODE_ENV,
    leaseTtlMs: c.KALIUM_LEASE_TTL_MS,
    metricsPort: c.METRICS_PORT,
    devices: c.KALIUM_DEVICES,
    openApi: c.OPENAPI,
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_MS,
    headersTimeoutMs: c.HEADERS_TIMEOUT_MS,
    requestTimeoutMs: c.REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: c.KEEP_ALIVE_TIMEOUT_MS,
    devRedisPort: c.KALIUM_DEV_REDIS_PORT,
    jobLockMs: c.KALIUM_JOB_LOCK_MS,
    stalledIntervalMs: c.KALIUM_STALLED_INTERVAL_MS,
    maxWorkerLosses: c.KALIUM_MAX_WORKER_LOSSES,
    python: c.KALIUM_PYTHON,
  };
}

/** A bad value as an error message may show it: secrets never, a URL without its password. */
function shown(name: string, value: string): string {
  if (SECRET_VARIABLES.has(name)) return '[hidden]';
  if (name === 'REDIS_URL') return redactRedisUrl(value);
  return value;
}

const SECRET_VARIABLES = new Set(['API_KEY', 'ADMIN_TOKEN', 'WEBHOOK_SECRET']);

/** The Redis URL a process uses when `REDIS_URL` is not set. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

import type { RedisOptions } from 'ioredis';
import { publishAppServices, withdrawAppServices, type AppServices } from '../app/app-services.ts';
import type { Kalium } from '../app/kalium.ts';
import type { CacheEngine } from '../cache/cache-engine.ts';
import { createRuntimeCaches } from '../cache/runtime-caches.ts';
import { DEFAULT_REDIS_URL, type Config } from '../config/config.ts';
import { GpuLease } from '../gpu/lease.ts';
import { LockKeeper } from '../lock/lock-keeper.ts';
import { GpuStats } from '../gpu/gpu-stats.ts';
import { Metrics } from '../metrics/metrics.ts';
import { queueDepthCollector } from '../metrics/queue-depth.ts';
import type { Logger } from '../log/logger.ts';
import { appKeys, type AppKeys } from '../redis/keys.ts';
import { closeRedis, createRedis, type ConnectionRole, type RedisClient } from '../redis/connection.ts';
import { redactRedisUrl } from '../redis/redis-url.ts';
import { RedisBackend, Store } from '../store/store.ts';
import { registerWebhookSender, unregisterWebhookSender } from '../webhook/send-webhook.ts';
import { WebhookSender } from '../webhook/webhook-sender.ts';
import { QueueRegistry } from './queue-registry.ts';
import { deferred } from '../process/deferred.ts';

type Closer = { name: string; close: () => Promise<void> | void };

/**
 * What one kalium process (api or worker) holds: the app and its context, config, logger, Redis
 * connections, the GPU lease. Parts added later (queues, workers) register closers; `close()` runs them
 * in reverse order of registration, then closes the connections.
 */
export class Runtime {
  readonly app: Kalium;
  readonly config: Config;
  readonly logger: Logger;
  readonly redisUrl: string;
  readonly keys: AppKeys;
  /** Fails fast while Redis is down; for anything on a request's path. */
  readonly redis: RedisClient;
  readonly lease: GpuLease;
  /**
   * Keeps this process's locks alive from a thread of its own: the GPU lease and compute locks it
   * holds, and in a worker its jobs' locks. A handler blocking the event loop keeps them all.
   */
  readonly keeper: LockKeeper;
  readonly gpuStats = new GpuStats();
  readonly metrics: Metrics;
  /** The BullMQ queues this process opened, for the dashboard and queue-depth metrics. */
  readonly queues = new QueueRegistry();
  /** Enqueues webhook deliveries; serves `sendWebhook` in this process. */
  readonly webhooks: WebhookSender;
  /** The response cache of the app's handler routes (SPEC §7). */
  readonly routeCache: CacheEngine;
  #context: unknown;
  #initialized = false;
  #initError: unknown;
  readonly #connections: RedisClient[] = [];
  readonly #closers: Closer[] = [];
  #closing: Promise<void> | undefined;
  readonly #initDone = deferred();
  #queueCounts: () => Promise<Record<string, number>> = async () => ({});
  /** `app.store` and `app.cache` while this runtime runs: published beside the app, never written into it. */
  readonly #appServices: AppServices;

  /** What this process is, for messages that differ between an api and a worker. @defaultValue 'api' */
  readonly role: 'api' | 'worker';

  constructor(app: Kalium, config: Config, logger: Logger, options: { processMetrics?: boolean; role?: 'api' | 'worker' } = {}) {
    this.role = options.role ?? 'api';
    this.metrics = new Metrics(options);
    this.metrics.onCollect(queueDepthCollector(this.queues, this.metrics, logger));
    this.app = app;
    this.config = config;
    this.logger = logger;
    this.redisUrl = config.redisUrl ?? DEFAULT_REDIS_URL;
    this.keys = appKeys(app.name);
    this.redis = this.connection('command');
    this.keeper = new LockKeeper(this.redisUrl, logger, keeperTick(config.jobLockMs, config.leaseTtlMs));
    // The thread starts now where locks will be held (its start-up outlasts a short lock's first third).
    if (this.role === 'worker' || app.routes.some((route) => route.gpu || (route.kind === 'handler' && route.cache))) this.keeper.start();
    this.lease = new GpuLease({
      redis: this.redis,
      subscriber: () => this.connection('blocking'),
      key: this.keys.lease(config.device),
      releasedChannel: this.keys.leaseReleased(config.device),
      ttlMs: config.leaseTtlMs,
      keeper: this.keeper,
      logger,
    });
    this.webhooks = new WebhookSender(this);
    registerWebhookSender(this.webhooks);
    this.queues.register(this.webhooks.queue);
    // Registered first, so closed last: parts closing before it may still send.
    this.onClose('webhook sender', async () => {
      unregisterWebhookSender(this.webhooks);
      await this.webhooks.close();
    });
    const caches = createRuntimeCaches({
      redis: this.redis,
      subscriber: () => this.connection('blocking'),
      keys: this.keys,
      lockTtlMs: config.leaseTtlMs,
      keeper: this.keeper,
      logger,
    });
    this.routeCache = caches.routes;
    this.onClose('cache', caches.close);
    this.#appServices = { store: new Store(new RedisBackend({ redis: this.redis, prefix: this.keys.store('') })), cache: caches.app };
    publishAppServices(app, this.#appServices);
  }

  /** Opens a Redis connection that `close()` will close; `extra` overrides ioredis options. */
  connection(role: ConnectionRole, extra?: RedisOptions): RedisClient {
    const redis = createRedis(this.redisUrl, role, extra);
    this.#connections.push(redis);
    return redis;
  }

  /** Registers something to close with the process; closed in reverse order, before the connections. */
  onClose(name: string, close: Closer['close']): void {
    this.#closers.push({ name, close });
  }

  /**
   * Waits (up to 5 s) for Redis, then runs the app's `init` once. A failure is kept (readyz stays 503)
   * and rethrown. Redis still down after the wait is not fatal: requests answer 503 until it is back.
   */
  async initialize(): Promise<void> {
    const started = Date.now();
    await this.#redisReady(5000);
    try {
      this.#context = await this.app.load();
      this.#initialized = true;
      this.#initDone.resolve();
      this.logger.info({ app: this.app.name, ms: Date.now() - started }, 'init finished');
    } catch (error) {
      this.#initError = error;
      this.#initDone.reject(error);
      throw error;
    }
  }

  /** Resolves once `init` has run (rejects if it failed). */
  whenInitialized(): Promise<void> {
    return this.#initDone.promise;
  }

  /** Queue counts by state for the status routes; empty until the job queue registers its counter. */
  async queueCounts(): Promise<Record<string, number>> {
    try {
      return await this.#queueCounts();
    } catch {
      return {};
    }
  }

  setQueueCounts(counter: () => Promise<Record<string, number>>): void {
    this.#queueCounts = counter;
  }

  get initialized(): boolean {
    return this.#initialized;
  }

  get initError(): unknown {
    return this.#initError;
  }

  /** What `init` returned. */
  get context(): unknown {
    return this.#context;
  }

  async #redisReady(timeoutMs: number): Promise<void> {
    if (this.redis.status === 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    const ready = await Promise.race([
      new Promise<boolean>((resolve) => this.redis.once('ready', () => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!ready) {
      const url = redactRedisUrl(this.redisUrl);
      const meanwhile = this.role === 'api' ? 'requests that need it get 503 until it does' : 'the worker takes jobs once it does';
      this.logger.warn({ redisUrl: url }, `Redis at ${url} is not answering yet; ${meanwhile}`);
    }
  }

  /** Whether Redis answers a PING within a second. */
  async redisAnswers(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  /**
   * Closes everything registered, then withdraws `app.store` and `app.cache` (another runtime still
   * running the app in this process serves them from then on), then the lease listener and connections.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const closer of [...this.#closers].reverse()) {
      try {
        this.logger.debug({ part: closer.name }, 'closing');
        await closer.close();
      } catch (error) {
        this.logger.error({ err: error, part: closer.name }, 'error while closing');
      }
    }
    // After the closers, so work finishing while they run still reaches app.store and app.cache.
    withdrawAppServices(this.app, this.#appServices);
    this.lease.close();
    await this.keeper.close().catch((error: unknown) => this.logger.error({ err: error, part: 'lock keeper' }, 'error while closing'));
    await Promise.all(this.#connections.map((redis) => closeRedis(redis)));
  }
}

/** The lock keeper looks at its list often enough to renew each lock well within a third of its life. */
function keeperTick(jobLockMs: number, leaseTtlMs: number): number {
  return Math.max(20, Math.floor(Math.min(jobLockMs, leaseTtlMs) / 12));
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * Every metric kalium exports, on one registry per process, all named `kalium_…`. Parts of kalium
 * record into these fields; the api serves them at `/metrics`, the worker on its metrics port.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'kalium_http_requests_total',
    help: 'HTTP requests answered, by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'kalium_http_request_duration_seconds',
    help: 'Time from request to response headers, by route and method.',
    labelNames: ['route', 'method'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });

  readonly gpuBusy = new Counter({
    name: 'kalium_gpu_busy_total',
    help: 'Requests answered 423 gpu_busy, by route.',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });

  readonly leaseWait = new Histogram({
    name: 'kalium_gpu_lease_wait_seconds',
    help: 'Time spent waiting for the GPU lease before taking it.',
    labelNames: ['role'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });

  readonly leaseHold = new Histogram({
    name: 'kalium_gpu_lease_hold_seconds',
    help: 'Time the GPU lease was held per model call.',
    labelNames: ['role'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });

  readonly queueJobs = new Gauge({
    name: 'kalium_queue_jobs',
    help: 'Jobs in each queue by state (waiting, prioritized, active, delayed, paused, completed, failed), read at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });

  readonly queueJobsByPriority = new Gauge({
    name: 'kalium_queue_jobs_by_priority',
    help: 'Queued jobs in each queue by X-Priority level (high, normal, low), read at scrape time; every level counts against QUEUE_MAX.',
    labelNames: ['queue', 'priority'] as const,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'kalium_job_duration_seconds',
    help: 'Time a job ran in the worker, by route and outcome.',
    labelNames: ['route', 'outcome'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });

  readonly jobs = new Counter({
    name: 'kalium_jobs_total',
    help: 'Jobs finished, by route and outcome (succeeded, failed, canceled).',
    labelNames: ['route', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly cache = new Counter({
    name: 'kalium_cache_events_total',
    help: 'Response cache events by route: hit, miss (ran the handler), wait (got another computer\'s answer), lock_timeout (gave up waiting), refresh (refresh-ahead started), error (Redis failed; answered without the cache).',
    labelNames: ['route', 'event'] as const,
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'kalium_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome (delivered, retry, failed, gone, refused).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly #collectors: Array<() => Promise<void>> = [];

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'kalium_' });
  }

  /**
   * Runs `collect` before every scrape, for values read from elsewhere rather than recorded as they
   * happen (queue depth, read from Redis). A collector handles its own errors; one that throws
   * anyway is skipped, so a scrape always answers.
   */
  onCollect(collect: () => Promise<void>): void {
    this.#collectors.push(collect);
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    await Promise.all(this.#collectors.map((collect) => collect().catch(() => {})));
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

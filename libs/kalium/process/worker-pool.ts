import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../log/logger.ts';
import { spawnKaliumChild, stopChild } from './kalium-child.ts';

export interface WorkerPoolOptions {
  /** The `kalium` entry point the workers run. */
  cli: string;
  appFile: string;
  /** GPU ids, one worker process each (`--devices 0,1` or `KALIUM_DEVICES`). */
  devices: string[];
  /** The environment each worker starts from. */
  env: NodeJS.ProcessEnv;
  /** Prefix of the workers' lease names (the pool's own `KALIUM_DEVICE`, if one was set). */
  leaseBase: string | undefined;
  /** Metrics port of the first worker; the n-th gets `metricsPort + n`. */
  metricsPort: number;
  logger: Logger;
  /** First restart delay after a worker dies; doubles per quick death. @defaultValue 1000 */
  restartDelayMs?: number;
  /** Longest restart delay. @defaultValue 30000 */
  restartDelayMaxMs?: number;
  /** A worker that lived this long before dying restarts after the first delay again. @defaultValue 60000 */
  healthyAfterMs?: number;
}

/**
 * One supervised `kalium worker` per GPU on this host: worker n gets `KALIUM_DEVICE` (its GPU lease),
 * `CUDA_VISIBLE_DEVICES` (the only GPU it sees) and `METRICS_PORT` = metricsPort + n. A worker that
 * dies is restarted with backoff; `close()` stops them all gracefully together (each finishes its job).
 */
export class WorkerPool {
  readonly #options: Required<WorkerPoolOptions>;
  readonly #children = new Map<string, ChildProcess>();
  readonly #restarts = new Set<NodeJS.Timeout>();
  #closing: Promise<void> | undefined;

  constructor(options: WorkerPoolOptions) {
    if (options.devices.length === 0) throw new Error('WorkerPool needs at least one device');
    this.#options = { restartDelayMs: 1000, restartDelayMaxMs: 30_000, healthyAfterMs: 60_000, ...options };
    options.devices.forEach((device, index) => this.#start(device, index, this.#options.restartDelayMs));
  }

  /** The lease name of the worker on GPU `device`: `gpu<id>`, or `<KALIUM_DEVICE>.<id>` when that is set. */
  static leaseName(device: string, base: string | undefined): string {
    return base ? `${base}.${device}` : `gpu${device}`;
  }

  /** Stops every worker with SIGTERM and resolves once all have exited. Idempotent. */
  close(): Promise<void> {
    for (const timer of this.#restarts) clearTimeout(timer);
    this.#closing ??= Promise.all([...this.#children.values()].map((child) => stopChild(child))).then(() => {});
    return this.#closing;
  }

  #start(device: string, index: number, delayMs: number): void {
    const { cli, appFile, env, metricsPort, logger, leaseBase } = this.#options;
    const child = spawnKaliumChild(cli, ['worker', appFile], {
      ...env,
      KALIUM_DEVICES: '',
      KALIUM_DEVICE: WorkerPool.leaseName(device, leaseBase),
      CUDA_VISIBLE_DEVICES: device,
      METRICS_PORT: String(metricsPort + index),
    });
    this.#children.set(device, child);
    const startedAt = Date.now();
    child.once('exit', (code, signal) => {
      if (this.#closing) return;
      const lived = Date.now() - startedAt;
      const next = lived >= this.#options.healthyAfterMs ? this.#options.restartDelayMs : delayMs;
      logger.error({ device, code, signal, restartInMs: next }, 'a device worker exited: restarting it');
      const timer = setTimeout(() => {
        this.#restarts.delete(timer);
        this.#start(device, index, Math.min(next * 2, this.#options.restartDelayMaxMs));
      }, next);
      this.#restarts.add(timer);
    });
  }
}

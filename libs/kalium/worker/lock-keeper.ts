import { Worker } from 'node:worker_threads';
import type { Logger } from '../log/logger.ts';
import { readLua } from '../redis/lua.ts';

const EXTEND_JOB_LOCK = readLua(import.meta.url, './extend-job-lock.lua');
const RENEW_LEASE = readLua(import.meta.url, '../gpu/renew.lua');

/** How long `close()` waits for the thread to quit before terminating it. */
const CLOSE_TIMEOUT_MS = 2000;

/** What the keeper keeps alive: a script renewing one key for one token. */
interface KeepSpec {
  what: string;
  lua: string;
  keys: string[];
  args: string[];
  everyMs: number;
  /** Stop renewing after this time (ms since epoch). */
  untilMs?: number;
}

/**
 * Renews the locks of running jobs, and the GPU lease they hold, from a worker thread.
 *
 * Why a thread: BullMQ renews a job's lock on the worker's event loop. A handler that keeps that loop
 * busy (synchronous model code) past the lock's duration lets the lock lapse, and the stalled-job check
 * hands the job to another worker while the first still runs it: the job runs twice. The GPU lease
 * has the same weakness. A thread renews on an event loop the handler cannot block, so a lock lapses
 * only when the process is really gone (killed, or frozen): exactly when the job should run again.
 * A handler past its `timeoutMs` stops being renewed after one more lock period, so a hung process
 * cannot hold a job forever.
 */
export class LockKeeper {
  readonly #thread: Worker;
  readonly #logger: Logger;
  readonly #kept = new Map<number, string>();
  #next = 0;
  #closing: Promise<void> | undefined;

  constructor(redisUrl: string, logger: Logger) {
    this.#logger = logger;
    this.#thread = new Worker(new URL('./lock-keeper-thread.mjs', import.meta.url), { workerData: { redisUrl } });
    this.#thread.unref();
    this.#thread.on('error', (error) => logger.error({ err: error }, 'lock keeper thread failed; locks are no longer renewed'));
    this.#thread.on('message', (message: { op: string; id: number }) => {
      const what = this.#kept.get(message.id);
      this.#kept.delete(message.id);
      if (message.op === 'lost') logger.warn({ what }, 'a lock was lost while held (it lapsed, or another took it)');
      if (message.op === 'expired') logger.warn({ what }, 'stopped renewing a lock past its job’s timeout');
    });
  }

  /** Keeps a worker's lock on a running job alive; returns the function that stops. */
  keepJobLock(options: { jobId: string; lockKey: string; stalledKey: string; token: string; lockMs: number; untilMs?: number }): () => void {
    return this.#keep({
      what: `job ${options.jobId}`,
      lua: EXTEND_JOB_LOCK,
      keys: [options.lockKey, options.stalledKey],
      args: [options.token, String(options.lockMs), options.jobId],
      everyMs: Math.max(100, Math.floor(options.lockMs / 3)),
      untilMs: options.untilMs,
    });
  }

  /** Keeps a held GPU lease alive (its holder renews it too, from the main thread). */
  keepLease(options: { key: string; token: string; ttlMs: number }): () => void {
    return this.#keep({
      what: `GPU lease ${options.key}`,
      lua: RENEW_LEASE,
      keys: [options.key],
      args: [options.token, String(options.ttlMs)],
      everyMs: Math.max(100, Math.floor(options.ttlMs / 3)),
    });
  }

  /** Stops renewing everything and ends the thread. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.#thread.terminate().finally(resolve), CLOSE_TIMEOUT_MS);
      this.#thread.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#thread.postMessage({ op: 'close' });
    });
    return this.#closing;
  }

  #keep(spec: KeepSpec): () => void {
    const id = ++this.#next;
    this.#kept.set(id, spec.what);
    const { what: _what, ...message } = spec;
    this.#thread.postMessage({ op: 'keep', id, ...message });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#kept.delete(id);
      if (!this.#closing) this.#thread.postMessage({ op: 'release', id });
    };
  }
}

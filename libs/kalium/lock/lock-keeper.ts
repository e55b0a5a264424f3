import { Worker } from 'node:worker_threads';
import type { Logger } from '../log/logger.ts';
import { parseRedisUrl } from '../redis/redis-url.ts';
import { script } from '../redis/scripts.ts';
import type { TokenKeeper } from './token-lock.ts';

/** The scripts the thread runs, sent once at its start: it calls them by SHA (EVALSHA), their text only after a NOSCRIPT. */
const SCRIPTS = { jobLock: script('kaliumJobLockExtend'), token: script('kaliumTokenRenew') };

/** How long `close()` waits for the thread to quit before terminating it. */
const CLOSE_TIMEOUT_MS = 2000;
/** Bytes of shared memory for the list of what to keep (a few hundred bytes an entry). */
const SHARED_BYTES = 1 << 20;

/** One thing kept alive: a script renewing one key for one token, every `everyMs`. */
interface Entry {
  id: number;
  script: keyof typeof SCRIPTS;
  keys: string[];
  args: string[];
  everyMs: number;
  /** When keeping started: the first renewal is due `everyMs` after. */
  since: number;
  /** Stop renewing after this time (ms since epoch). */
  untilMs?: number;
}

/**
 * Renews the locks of running jobs, the GPU lease and the cache's compute locks, from a worker thread:
 * one per process, used by the api and the worker alike (Runtime.keeper).
 *
 * Why a thread: BullMQ renews a job's lock on the worker's event loop. A handler that keeps that loop
 * busy (synchronous model code) past the lock's duration lets the lock lapse, and the stalled-job check
 * hands the job to another worker while the first still runs it: the job runs twice. The GPU lease
 * has the same weakness. A thread renews on an event loop the handler cannot block, so a lock lapses
 * only when the process is really gone (killed, or frozen): exactly when the job should run again.
 * A handler past its `timeoutMs` stops being renewed after one more lock period, so a hung process
 * cannot hold a job forever.
 *
 * The list of what to keep lives in shared memory that this (main) thread rewrites as jobs start and
 * end, under a sequence number the thread checks: a job costs no message and no wake-up of the thread
 * (measured by bench/support/lock-keeper-cost.ts: 1.8–2.2 µs of CPU a job, against 4.6–5.4 µs with a
 * message at each start and end).
 */
export class LockKeeper implements TokenKeeper {
  #thread: Worker | undefined;
  readonly #redisUrl: string;
  readonly #tickMs: number;
  readonly #logger: Logger;
  /** What is kept, by entry id: what it is (for logs) and the entry as the thread reads it (JSON). */
  readonly #entries = new Map<number, { what: string; json: string }>();
  readonly #header = new Int32Array(new SharedArrayBuffer(8));
  readonly #data = new Uint8Array(new SharedArrayBuffer(SHARED_BYTES));
  readonly #encoder = new TextEncoder();
  #next = 0;
  #closing: Promise<void> | undefined;

  /** @param tickMs - how often the thread looks at the list (a fraction of the shortest renewal period). */
  constructor(redisUrl: string, logger: Logger, tickMs: number) {
    this.#redisUrl = redisUrl;
    this.#logger = logger;
    this.#tickMs = tickMs;
  }

  /**
   * Starts the thread (and its Redis connection) now rather than at the first lock kept: its start-up
   * takes a while (a few hundred ms on a loaded machine), longer than a short lock may wait.
   */
  start(): void {
    if (this.#thread || this.#closing) return;
    // The thread cannot load TypeScript, so it gets the URL already parsed (plain data: no functions).
    const target = parseRedisUrl(this.#redisUrl);
    const scripts = { jobLock: { text: SCRIPTS.jobLock.text, sha: SCRIPTS.jobLock.sha }, token: { text: SCRIPTS.token.text, sha: SCRIPTS.token.sha } };
    const workerData = { target, scripts, header: this.#header, data: this.#data, tickMs: this.#tickMs };
    const thread = new Worker(new URL('./lock-keeper-thread.mjs', import.meta.url), { workerData });
    this.#thread = thread;
    thread.unref();
    thread.on('error', (error) => this.#logger.error({ err: error }, 'lock keeper thread failed; locks are no longer renewed'));
    thread.on('message', (message: { op: string; id: number }) => {
      // An entry no longer kept was released while the thread renewed it (its job had just ended).
      const what = this.#entries.get(message.id)?.what;
      if (what === undefined) return;
      if (message.op === 'lost') this.#logger.warn({ what }, 'a lock was lost while held (it lapsed, or another took it)');
      if (message.op === 'expired') this.#logger.warn({ what }, 'stopped renewing a lock past its job’s timeout');
    });
  }

  /** Keeps a worker's lock on a running job alive; returns the function that stops. */
  keepJobLock(options: { jobId: string; lockKey: string; stalledKey: string; token: string; lockMs: number; untilMs?: number }): () => void {
    return this.#keep(`job ${options.jobId}`, {
      script: 'jobLock',
      keys: [options.lockKey, options.stalledKey],
      args: [options.token, String(options.lockMs), options.jobId],
      everyMs: Math.max(100, Math.floor(options.lockMs / 3)),
      untilMs: options.untilMs,
    });
  }

  /** Keeps a token lock (the GPU lease, a compute lock) alive, renewing it every third of its TTL. */
  keepToken(lock: { what: string; key: string; token: string; ttlMs: number }): () => void {
    return this.#keep(lock.what, {
      script: 'token',
      keys: [lock.key],
      args: [lock.token, String(lock.ttlMs)],
      everyMs: Math.max(100, Math.floor(lock.ttlMs / 3)),
    });
  }

  /** Stops renewing everything and ends the thread. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#entries.clear();
      this.#publish();
      const thread = this.#thread;
      if (!thread) return resolve();
      const timer = setTimeout(() => void thread.terminate().finally(resolve), CLOSE_TIMEOUT_MS);
      thread.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      thread.postMessage({ op: 'close' });
    });
    return this.#closing;
  }

  #keep(what: string, spec: Omit<Entry, 'id' | 'since'>): () => void {
    const id = ++this.#next;
    const entry: Entry = { id, script: spec.script, keys: spec.keys, args: spec.args, everyMs: spec.everyMs, since: Date.now(), untilMs: spec.untilMs };
    this.#entries.set(id, { what, json: JSON.stringify(entry) });
    this.start();
    this.#publish();
    return () => {
      if (this.#entries.delete(id)) this.#publish();
    };
  }

  /**
   * Rewrites the shared list: version odd while writing, even once done (a seqlock; one writer). Each
   * entry's JSON is made once, when it is added: a job adds and removes one, so this runs twice a job.
   */
  #publish(): void {
    let json = '[';
    for (const entry of this.#entries.values()) json += (json.length > 1 ? ',' : '') + entry.json;
    json += ']';
    Atomics.add(this.#header, 0, 1);
    const { read, written } = this.#encoder.encodeInto(json, this.#data);
    Atomics.store(this.#header, 1, written);
    Atomics.add(this.#header, 0, 1);
    if (read < json.length) this.#logger.error({ entries: this.#entries.size }, 'lock keeper list over its shared memory; some locks are not renewed');
  }
}

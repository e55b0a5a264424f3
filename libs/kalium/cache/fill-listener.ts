import type { Redis } from 'ioredis';

/**
 * Listens on a cache namespace's channel for fills and lock releases, and wakes the waiters of the
 * key each message names. One subscription per process and namespace (not one per key), opened on the
 * first wait; never keyspace notifications, which would need `CONFIG SET` on the server.
 */
export class FillListener {
  readonly #open: () => Redis | Promise<Redis>;
  readonly #channel: string;
  readonly #watches = new Map<string, Set<FillWatch>>();
  #connection: Redis | undefined;
  #subscribing: Promise<void> | undefined;
  #closed = false;

  /** `open` gives the connection to subscribe on; it is called once, on the first wait. */
  constructor(open: () => Redis | Promise<Redis>, channel: string) {
    this.#open = open;
    this.#channel = channel;
  }

  /** Starts collecting notices for `valueKey`. Call before reading the key, then `close()` the watch. */
  watch(valueKey: string): FillWatch {
    let watches = this.#watches.get(valueKey);
    if (!watches) {
      watches = new Set();
      this.#watches.set(valueKey, watches);
    }
    const watch = new FillWatch(() => {
      watches.delete(watch);
      if (watches.size === 0 && this.#watches.get(valueKey) === watches) this.#watches.delete(valueKey);
    });
    watches.add(watch);
    return watch;
  }

  /**
   * Resolves once the channel subscription is confirmed (at once after the first time), or after
   * `maxMs`: a waiter that goes on unsubscribed may miss a notice, which its poll then covers.
   */
  async subscribed(maxMs: number): Promise<void> {
    if (this.#closed) return;
    this.#subscribing ??= this.#subscribe();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, maxMs);
    });
    await Promise.race([this.#subscribing, late]);
    clearTimeout(timer);
  }

  async #subscribe(): Promise<void> {
    try {
      if (!this.#connection) {
        const connection = await this.#open();
        if (this.#closed) {
          connection.disconnect();
          return;
        }
        // ioredis re-subscribes by itself after a reconnect; notices sent meanwhile are covered by polling.
        connection.on('message', (_channel: string, valueKey: string) => this.#notify(valueKey));
        this.#connection = connection;
      }
      await this.#connection.subscribe(this.#channel);
    } catch {
      // Try again on the next wait; until then waiters poll.
      this.#subscribing = undefined;
    }
  }

  #notify(valueKey: string): void {
    for (const watch of this.#watches.get(valueKey) ?? []) watch.notify();
  }

  /** Wakes every waiter (they re-read and give up) and drops the subscription. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const watches of this.#watches.values()) for (const watch of watches) watch.notify();
    this.#connection?.disconnect();
    this.#connection = undefined;
  }
}

/** One waiter's view of notices for its key; a notice that comes while it is reading is kept for `next()`. */
export class FillWatch {
  readonly #forget: () => void;
  #noticed = false;
  #wake: (() => void) | undefined;

  constructor(forget: () => void) {
    this.#forget = forget;
  }

  notify(): void {
    this.#noticed = true;
    this.#wake?.();
  }

  /** Resolves at the next notice (at once if one came since the last call), or after `ms`. */
  next(ms: number): Promise<void> {
    if (this.#noticed) {
      this.#noticed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        this.#noticed = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  close(): void {
    this.#forget();
    this.#wake?.();
  }
}

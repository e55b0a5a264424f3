/** At most one `output` webhook delivery per job this often (SPEC §14, Cog's throttle). */
export const OUTPUT_WEBHOOK_INTERVAL_MS = 500;

/**
 * Batches a streaming job's chunks for its `output` webhook: the first chunk goes at once, later ones
 * wait for the window since the last delivery to pass and go together. `end()` sends what is left,
 * so the last chunks reach the webhook before the job's end does.
 */
export class OutputWebhookThrottle {
  readonly #send: (chunks: unknown[], firstIndex: number) => Promise<void>;
  readonly #intervalMs: number;
  #pending: unknown[] = [];
  #firstIndex = 0;
  #lastAt = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> = Promise.resolve();

  constructor(send: (chunks: unknown[], firstIndex: number) => Promise<void>, intervalMs = OUTPUT_WEBHOOK_INTERVAL_MS) {
    this.#send = send;
    this.#intervalMs = intervalMs;
  }

  add(index: number, chunk: unknown): void {
    if (this.#pending.length === 0) this.#firstIndex = index;
    this.#pending.push(chunk);
    if (this.#timer) return;
    const wait = this.#lastAt + this.#intervalMs - Date.now();
    if (wait <= 0) this.#flush();
    else this.#timer = setTimeout(() => this.#flush(), wait);
  }

  /** Sends the chunks still held, and resolves once every delivery has been handed over. */
  async end(): Promise<void> {
    this.#flush();
    await this.#sending;
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const chunks = this.#pending;
    const first = this.#firstIndex;
    this.#pending = [];
    this.#lastAt = Date.now();
    // In order: a slow hand-over must not let a later window overtake an earlier one.
    this.#sending = this.#sending.then(() => this.#send(chunks, first));
  }
}

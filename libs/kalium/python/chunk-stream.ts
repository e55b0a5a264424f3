/**
 * The chunks of a Python generator as they arrive over the pipe, as an async iterable: what kalium's
 * streaming (SPEC §14) drains for any background handler. Chunks are buffered until read; the
 * iterable's return value is what the generator returned. `return()` (a canceled job, an output cap)
 * asks the Python side to close the generator (`onClose`), so its `finally` runs there.
 */
export class ChunkStream<R> implements AsyncIterable<unknown> {
  readonly #chunks: unknown[] = [];
  #waiting: { resolve: (step: IteratorResult<unknown, R | undefined>) => void; reject: (error: unknown) => void } | undefined;
  #ended: { value: R } | { error: unknown } | undefined;
  #closed = false;
  readonly #onClose: () => void;

  constructor(onClose: () => void) {
    this.#onClose = onClose;
  }

  push(chunk: unknown): void {
    if (this.#ended || this.#closed) return;
    if (this.#waiting) {
      this.#take().resolve({ value: chunk, done: false });
    } else {
      this.#chunks.push(chunk);
    }
  }

  finish(value: R): void {
    this.#end({ value });
  }

  fail(error: unknown): void {
    this.#end({ error });
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown, R | undefined> {
    return {
      next: () => this.#next(),
      return: async () => {
        if (!this.#closed && !this.#ended) {
          this.#closed = true;
          this.#onClose();
        }
        return { value: undefined, done: true };
      },
    };
  }

  #next(): Promise<IteratorResult<unknown, R | undefined>> {
    if (this.#chunks.length > 0) return Promise.resolve({ value: this.#chunks.shift(), done: false });
    if (this.#ended) return 'error' in this.#ended ? Promise.reject(this.#ended.error) : Promise.resolve({ value: this.#ended.value, done: true });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
  }

  #end(ended: { value: R } | { error: unknown }): void {
    if (this.#ended) return;
    this.#ended = ended;
    if (!this.#waiting) return;
    const waiting = this.#take();
    if ('error' in ended) waiting.reject(ended.error);
    else waiting.resolve({ value: ended.value, done: true });
  }

  #take() {
    const waiting = this.#waiting!;
    this.#waiting = undefined;
    return waiting;
  }
}

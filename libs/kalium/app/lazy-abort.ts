/**
 * An AbortController made only when its signal is first read. Every request and job offers a signal
 * (`request.signal`, `job.signal`), few handlers read it and fewer are aborted; a real controller per
 * request cost ~10% of a small route's CPU in the http bench, and two per job (with their listeners)
 * a good part of the worker's own CPU per job in the jobs bench. Whether, and why, it was aborted, and
 * listeners inside kalium, need no signal.
 */
export class LazyAbortController {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #listeners: Array<() => void> | undefined;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** What it was aborted with (an AbortError when abort() was given nothing); undefined until then. */
  get reason(): unknown {
    return this.#reason;
  }

  /** Aborts once; later calls change nothing, as with AbortController. */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    this.#controller?.abort(this.#reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    for (const listener of listeners ?? []) listener();
  }

  /** Calls `listener` once when aborted (at once when it already is), without making a signal. */
  onAbort(listener: () => void): void {
    if (this.#aborted) listener();
    else (this.#listeners ??= []).push(listener);
  }
}

/** What aborts a request: a real AbortController or a lazy one. */
export type Aborter = Pick<AbortController, 'signal' | 'abort'>;

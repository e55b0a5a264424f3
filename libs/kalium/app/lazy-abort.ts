/**
 * An AbortController made only when its signal is first read or it is aborted. Every request offers
 * `request.signal`, few handlers read it and fewer are aborted; a real controller per request cost ~10%
 * of a small route's CPU in the http bench.
 */
export class LazyAbortController {
  #controller: AbortController | undefined;

  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }

  abort(reason?: unknown): void {
    (this.#controller ??= new AbortController()).abort(reason);
  }
}

/** What aborts a request: a real AbortController or a lazy one. */
export type Aborter = Pick<AbortController, 'signal' | 'abort'>;

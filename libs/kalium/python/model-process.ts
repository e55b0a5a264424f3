import { setTimeout as sleep } from 'node:timers/promises';
import type { JobContext } from '../app/routes.ts';
import type { Logger } from '../log/logger.ts';
import { ModelProcessGone, type CallRequest, type CallResult, type Hello } from './protocol.ts';
import { PythonChild, type PythonChildOptions } from './python-child.ts';
import { deferred } from '../process/deferred.ts';

export interface ModelProcessOptions extends PythonChildOptions {
  /** Wait before the first restart after a failed one, doubling up to `maxRestartDelayMs`. @defaultValue 500 */
  minRestartDelayMs?: number;
  /** @defaultValue 10000 */
  maxRestartDelayMs?: number;
}

type State = 'loaded' | 'initializing' | 'ready' | 'restarting' | 'closed';

/**
 * The model process of one kalium process (api or worker), kept alive: it is started once to read the
 * app's routes, runs init when the runtime does, and when it dies it is started again, with init,
 * while the calls that were in flight fail. Calls made while it is down wait for it to be back (or
 * fail, if that start fails), and `notReadyReason` says why readiness is off meanwhile.
 */
export class ModelProcess {
  readonly hello: Hello;
  readonly #options: Required<ModelProcessOptions>;
  #child: PythonChild;
  #state: State = 'loaded';
  #back = deferred();
  #closing: Promise<void> | undefined;

  private constructor(child: PythonChild, hello: Hello, options: Required<ModelProcessOptions>) {
    this.#child = child;
    this.hello = hello;
    this.#options = options;
  }

  /** Starts the model process and reads its handshake; rejects when the app cannot be imported. */
  static async start(options: ModelProcessOptions): Promise<ModelProcess> {
    const child = new PythonChild(options);
    let hello: Hello;
    try {
      hello = await child.hello;
    } catch (error) {
      child.kill();
      throw error;
    }
    return new ModelProcess(child, hello, { minRestartDelayMs: 500, maxRestartDelayMs: 10_000, ...options });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Why calls cannot be served now, or undefined when they can. */
  get notReadyReason(): string | undefined {
    if (this.#state === 'ready') return undefined;
    if (this.#state === 'restarting') return 'the Python model process is starting again after it died';
    if (this.#state === 'closed') return 'the Python model process is closed';
    return 'the Python model process has not finished init';
  }

  /** Runs the app's init, once (a restart runs it again by itself). */
  async init(): Promise<void> {
    if (this.#state !== 'loaded') throw new Error('init runs once; a restarted model process runs it by itself');
    this.#state = 'initializing';
    try {
      await this.#child.init();
    } catch (error) {
      this.#child.kill();
      this.#state = 'closed';
      this.#back.reject(error);
      throw error;
    }
    this.#up(this.#child);
  }

  async call(path: string, request: CallRequest, body: Buffer, job?: JobContext): Promise<CallResult> {
    if (this.#state !== 'ready') await this.#back.promise;
    return this.#child.call(path, request, body, job);
  }

  /** Stops the model process (it sees its input close and exits; SIGKILL after `graceMs`). Idempotent. */
  close(graceMs?: number): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closed';
      this.#back.reject(new ModelProcessGone('the Python model process is closed'));
      await this.#child.close(graceMs);
    })();
    return this.#closing;
  }

  #up(child: PythonChild): void {
    this.#child = child;
    this.#state = 'ready';
    this.#back.resolve();
    void child.exited.then((how) => this.#died(child, how));
  }

  #died(child: PythonChild, how: string): void {
    if (this.#state === 'closed' || child !== this.#child) return;
    this.#options.logger.error({ exit: how, pid: child.pid }, 'the Python model process died; its calls in flight failed; starting it again with init');
    this.#state = 'restarting';
    this.#back = deferred();
    void this.#restart();
  }

  async #restart(): Promise<void> {
    const { logger, minRestartDelayMs, maxRestartDelayMs } = this.#options;
    let delay = 0;
    for (;;) {
      if (delay > 0) await sleep(delay);
      if (this.#state === 'closed') return;
      const started = Date.now();
      const child = new PythonChild(this.#options);
      this.#child = child;
      try {
        const hello = await child.hello;
        if (JSON.stringify(hello.routes) !== JSON.stringify(this.hello.routes)) {
          logger.warn({ routes: hello.routes.map((route) => route.path) }, 'the Python app’s routes changed; kalium keeps serving the routes it started with until it is restarted');
        }
        await child.init();
      } catch (error) {
        child.kill();
        delay = Math.min(Math.max(minRestartDelayMs, delay * 2), maxRestartDelayMs);
        logger.error({ err: error, retryInMs: delay }, 'the Python model process failed to start again');
        // Calls waiting for it fail rather than wait through every retry.
        this.#back.reject(error);
        this.#back = deferred();
        continue;
      }
      // Closed while it started: the state changed under the awaits above.
      if ((this.#state as State) === 'closed') return void child.close();
      logger.info({ pid: child.pid, ms: Date.now() - started }, 'the Python model process is back');
      return this.#up(child);
    }
  }
}

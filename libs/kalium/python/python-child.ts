import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import type { JobContext } from '../app/routes.ts';
import type { Logger } from '../log/logger.ts';
import { ChunkStream } from './chunk-stream.ts';
import { encodeFrame, FrameDecoder, PROTOCOL_VERSION, ProtocolError, type Frame, type FrameHeader } from './frames.ts';
import { isHello, ModelProcessGone, PythonError, type CallRequest, type CallResult, type Hello } from './protocol.ts';

/** kalium's Python package (libs/python, shipped next to the compiled libs in dist/ too). */
export const PYTHON_PACKAGE_DIR = fileURLToPath(new URL('../../python', import.meta.url));

// The package goes on sys.path from here, not through PYTHONPATH: the user's own PYTHONPATH is kept as it is.
const BOOTSTRAP = 'import sys; sys.path.insert(0, sys.argv[1]); from kalium.model_process import run; run(sys.argv[2])';

/** Serves the Python side's `Store` and `send_webhook` calls; resolves to the value handed back. */
export type CallbackServer = (request: FrameHeader) => Promise<unknown>;

export interface PythonChildOptions {
  /** The interpreter: `python3` from PATH, or KALIUM_PYTHON. */
  python: string;
  appFile: string;
  logger: Logger;
  callbacks: CallbackServer;
}

interface PendingCall {
  resolve: (result: CallResult) => void;
  reject: (error: Error) => void;
  job: JobContext | undefined;
  done: () => void;
  /** Once the handler turned out to be a generator: its chunks, then its end. */
  stream?: ChunkStream<CallResult>;
}

const PYTHON_LEVELS: Array<[number, 'debug' | 'info' | 'warn' | 'error' | 'fatal']> = [
  [50, 'fatal'], [40, 'error'], [30, 'warn'], [20, 'info'], [0, 'debug'],
];

/**
 * One run of the model process: `python3 -c <bootstrap> <app.py>` with frames on fd 3 (in) and fd 4
 * (out), stdout and stderr as log lines. Calls are multiplexed by id, so they may finish in any order.
 * Anything off-protocol kills it (SIGKILL): a stream out of step cannot be trusted, and a dead process
 * is restarted where a confused one would hang its callers.
 */
export class PythonChild {
  readonly hello: Promise<Hello>;
  /** Resolves, once it has exited, with how (`exit code 1`, `signal SIGKILL`). */
  readonly exited: Promise<string>;
  readonly #options: PythonChildOptions;
  readonly #child: ChildProcess;
  readonly #input: Writable;
  readonly #decoder = new FrameDecoder();
  readonly #calls = new Map<number, PendingCall>();
  #nextId = 1;
  #corked = false;
  #hello = deferred<Hello>();
  #init: ReturnType<typeof deferred<void>> | undefined;
  #gone: string | undefined;
  #endExited!: (how: string) => void;
  readonly #killOnExit = () => this.#child.kill('SIGKILL');

  constructor(options: PythonChildOptions) {
    this.#options = options;
    this.hello = this.#hello.promise;
    this.exited = new Promise((resolve) => (this.#endExited = resolve));
    // Its own process group: a Ctrl-C in the terminal is kalium's to handle (it stops the child in turn).
    this.#child = spawn(options.python, ['-c', BOOTSTRAP, PYTHON_PACKAGE_DIR, options.appFile], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.#input = this.#child.stdio[3] as Writable;
    const output = this.#child.stdio[4] as Readable;
    this.#input.on('error', () => {}); // EPIPE when it died: its 'close' reports that
    output.on('data', (chunk: Buffer) => this.#read(chunk));
    this.#lines(this.#child.stdout!, 'info', 'stdout');
    this.#lines(this.#child.stderr!, 'warn', 'stderr');
    this.#child.once('error', (error: NodeJS.ErrnoException) => {
      const how = error.code === 'ENOENT' ? `${options.python} was not found (install python3, or set KALIUM_PYTHON)` : error.message;
      this.#ended(how);
    });
    this.#child.once('close', (code, signal) => this.#ended(signal ? `signal ${signal}` : `exit code ${code}`));
    // It dies with kalium's process, however that ends (a SIGKILL of kalium closes its input instead).
    process.once('exit', this.#killOnExit);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Runs the app's init; rejects with the Python traceback in the error's stack when it raises. */
  init(): Promise<void> {
    if (this.#init) throw new Error('init runs once per model process');
    this.#init = deferred<void>();
    this.#send({ t: 'init' });
    return this.#init.promise;
  }

  call(path: string, request: CallRequest, body: Buffer, job?: JobContext): Promise<CallResult> {
    if (this.#gone) return Promise.reject(new ModelProcessGone(`the Python model process is gone (${this.#gone})`));
    const id = this.#nextId++;
    return new Promise<CallResult>((resolve, reject) => {
      let done = () => {};
      if (job) {
        const abort = () => this.#sendQuietly({ t: 'abort', id });
        if (job.signal.aborted) queueMicrotask(abort);
        else job.signal.addEventListener('abort', abort, { once: true });
        done = () => job.signal.removeEventListener('abort', abort);
      }
      this.#calls.set(id, { resolve, reject, job, done });
      this.#send({ t: 'call', id, path, request, job: job ? { id: job.id, attempt: job.attempt } : null }, body);
    });
  }

  /** Closes its input, so it exits by itself; SIGKILL after `graceMs`. */
  async close(graceMs = 2000): Promise<void> {
    if (this.#gone) return;
    this.#input.end();
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.#gone) this.#child.kill('SIGKILL');
  }

  #send(header: FrameHeader, body?: Buffer): void {
    if (this.#gone) throw new ModelProcessGone(`the Python model process is gone (${this.#gone})`);
    const parts = encodeFrame(header, body);
    // Every frame written in this turn of the event loop leaves in one writev, after its I/O callbacks:
    // under load one write (and one wake-up of the Python reader) carries several calls.
    if (!this.#corked) {
      this.#corked = true;
      this.#input.cork();
      setImmediate(() => {
        this.#corked = false;
        this.#input.uncork();
      });
    }
    for (const part of parts) this.#input.write(part);
  }

  #sendQuietly(header: FrameHeader): void {
    if (!this.#gone) this.#send(header);
  }

  #read(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      return this.#protocolError((error as Error).message);
    }
    for (const frame of frames) {
      try {
        this.#dispatch(frame);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        return this.#protocolError(error.message);
      }
    }
  }

  #dispatch({ header, body }: Frame): void {
    switch (header.t) {
      case 'hello':
        if (!isHello(header)) throw new ProtocolError('a malformed hello');
        if (header.v !== PROTOCOL_VERSION) {
          throw new ProtocolError(`the Python side speaks protocol ${header.v}, this kalium ${PROTOCOL_VERSION} (another kalium's Python package on PYTHONPATH?)`);
        }
        return this.#hello.resolve(header);
      case 'load_failed':
        return this.#hello.reject(PythonError.from('load_failed', header));
      case 'ready':
        if (!this.#init) throw new ProtocolError('ready before init was asked for');
        return this.#init.resolve();
      case 'init_failed':
        if (!this.#init) throw new ProtocolError('init_failed before init was asked for');
        return this.#init.reject(PythonError.from('init_failed', header));
      case 'result': {
        const result: CallResult = { status: Number(header.status), headers: (header.headers ?? {}) as Record<string, string>, kind: header.kind as CallResult['kind'], body };
        return this.#settle(header, (call) => (call.stream ? call.stream.finish(result) : call.resolve(result)));
      }
      case 'error': {
        const error = PythonError.from(String(header.code ?? 'handler_error'), header);
        return this.#settle(header, (call) => (call.stream ? call.stream.fail(error) : call.reject(error)));
      }
      case 'stream':
        return this.#startStream(header);
      case 'chunk':
        return this.#chunk(header, body);
      case 'rpc':
        return void this.#answer(header);
      case 'log':
        return this.#log(header);
      default:
        throw new ProtocolError(`unknown message type ${JSON.stringify(header.t)}`);
    }
  }

  #startStream(header: FrameHeader): void {
    const id = Number(header.id);
    const call = this.#calls.get(id);
    if (!call || call.stream) throw new ProtocolError(`a stream for call ${String(header.id)}, which is not in flight or streams already`);
    call.stream = new ChunkStream<CallResult>(() => this.#sendQuietly({ t: 'close', id }));
    call.resolve({ status: 200, headers: {}, kind: 'stream', body: Buffer.alloc(0), stream: call.stream });
  }

  #chunk(header: FrameHeader, body: Buffer): void {
    const stream = this.#calls.get(Number(header.id))?.stream;
    if (!stream) throw new ProtocolError(`a chunk for call ${String(header.id)}, which is not streaming`);
    let chunk: unknown;
    try {
      chunk = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ProtocolError(`a chunk of call ${String(header.id)} is not JSON`);
    }
    stream.push(chunk);
  }

  #settle(header: FrameHeader, settle: (call: PendingCall) => void): void {
    const id = Number(header.id);
    const call = this.#calls.get(id);
    if (!call) throw new ProtocolError(`an answer to call ${String(header.id)}, which is not in flight`);
    this.#calls.delete(id);
    call.done();
    settle(call);
  }

  async #answer(header: FrameHeader): Promise<void> {
    let reply: FrameHeader;
    try {
      const value = header.op === 'progress' ? await this.#progress(header) : await this.#options.callbacks(header);
      reply = { t: 'reply', rid: header.rid, ok: true, value };
    } catch (error) {
      const { message, code } = error as { message?: string; code?: unknown };
      reply = { t: 'reply', rid: header.rid, ok: false, message: message ?? String(error), code: typeof code === 'string' ? code : undefined };
    }
    this.#sendQuietly(reply);
  }

  async #progress(header: FrameHeader): Promise<void> {
    const job = this.#calls.get(Number(header.call))?.job;
    if (!job) throw new Error('job.progress is for the job a background handler is running');
    await job.progress(Number(header.value));
  }

  #log(header: FrameHeader): void {
    const level = PYTHON_LEVELS.find(([at]) => Number(header.level) >= at)?.[1] ?? 'info';
    this.#options.logger[level]({ python: 'logging', logger: header.logger }, String(header.msg));
  }

  #lines(stream: Readable, level: 'info' | 'warn', name: string): void {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.#options.logger[level]({ python: name }, line));
  }

  #protocolError(message: string): void {
    this.#options.logger.error({ pid: this.pid, reason: message }, 'protocol error from the Python model process; stopping it');
    this.kill();
  }

  #ended(how: string): void {
    if (this.#gone) return;
    this.#gone = how;
    process.off('exit', this.#killOnExit);
    const gone = new ModelProcessGone(`the Python model process ended (${how})`);
    this.#hello.reject(gone);
    this.#init?.reject(gone);
    for (const call of this.#calls.values()) {
      call.done();
      if (call.stream) call.stream.fail(gone);
      else call.reject(gone);
    }
    this.#calls.clear();
    this.#endExited(how);
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // whoever awaits it sees the rejection; nobody awaiting is not an error
  return { promise, resolve, reject };
}

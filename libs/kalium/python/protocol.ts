/** The messages of the model process's protocol (libs/python/kalium/model_process.py is the other side). */

/** A route as the Python app declared it; `options` are kalium's route options, already camelCased. */
export interface PythonRoute {
  path: string;
  kind: 'handler' | 'background';
  gpu: boolean;
  options: Record<string, unknown>;
}

/** The handshake: the first message of a model process, once it has imported the app. */
export interface Hello {
  t: 'hello';
  v: number;
  app: string;
  routes: PythonRoute[];
  python: string;
  pid: number;
}

/** What a call's request carries besides its body bytes; `json` says the body is JSON to parse. */
export interface CallRequest {
  id: string;
  method: string;
  headers: Record<string, string>;
  query: Record<string, string | string[]>;
  json: boolean;
}

/**
 * A handler's answer: `kind` says how to read `body` (JSON text, raw bytes, or nothing), or that the
 * handler is a generator whose chunks come through `stream` (its return value is the stream's).
 */
export interface CallResult {
  status: number;
  headers: Record<string, string>;
  kind: 'json' | 'bytes' | 'none' | 'stream';
  body: Buffer;
  stream?: AsyncIterable<unknown>;
}

/**
 * Something Python raised. `message` is the exception's message (what a job's `error` shows); `stack`
 * is the Python traceback, so it reaches the log through the usual error serialiser and nowhere else.
 */
export class PythonError extends Error {
  /** `handler_error`, `not_serializable`, `init_failed`, `load_failed`, … */
  readonly code: string;
  /** The Python exception's class name (or, for not_serializable, the returned value's type). */
  readonly pythonType: string | undefined;

  constructor(code: string, message: string, options: { pythonType?: string; traceback?: string } = {}) {
    super(message);
    this.name = 'PythonError';
    this.code = code;
    this.pythonType = options.pythonType;
    if (options.traceback) this.stack = `PythonError: ${message}\n${options.traceback}`;
  }

  static from(code: string, header: Record<string, unknown>): PythonError {
    return new PythonError(code, String(header.message ?? code), {
      pythonType: typeof header.type === 'string' ? header.type : undefined,
      traceback: typeof header.traceback === 'string' ? header.traceback : undefined,
    });
  }
}

/** The model process ended (or was ended) with calls in flight, or before it was up. */
export class ModelProcessGone extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelProcessGone';
  }
}

export function isHello(header: Record<string, unknown>): header is Hello & Record<string, unknown> {
  return (
    header.t === 'hello' &&
    typeof header.v === 'number' &&
    typeof header.app === 'string' &&
    Array.isArray(header.routes) &&
    header.routes.every(
      (route: unknown) =>
        typeof route === 'object' &&
        route !== null &&
        typeof (route as PythonRoute).path === 'string' &&
        ((route as PythonRoute).kind === 'handler' || (route as PythonRoute).kind === 'background') &&
        typeof (route as PythonRoute).gpu === 'boolean',
    )
  );
}

import { KaliumError } from '../errors/kalium-error.ts';

export type ResponseBody = Buffer | string | AsyncIterable<Uint8Array | string>;

export interface ResponseInit {
  /** @defaultValue 200 */
  status?: number;
  /** Serialised as the JSON body; takes precedence over `body`. */
  json?: unknown;
  /** Raw bytes, a string, or an async iterable of chunks streamed to the client as they are produced. */
  body?: ResponseBody;
  headers?: Record<string, string>;
}

/** What a handler may return; a plain value is answered as 200 JSON. */
export class Response {
  readonly status: number;
  readonly json: unknown;
  readonly body: ResponseBody | undefined;
  readonly headers: Record<string, string>;

  constructor(init: ResponseInit = {}) {
    const status = init.status ?? 200;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new TypeError(`Response status must be an integer from 200 to 599, got ${String(init.status)}`);
    }
    this.status = status;
    this.json = init.json;
    this.body = init.body;
    this.headers = { ...init.headers };
  }

  static json(value: unknown, status = 200): Response {
    return new Response({ status, json: value });
  }

  /**
   * A handler's return value as a Response: `undefined` is 204; a WHATWG Response keeps its status,
   * headers and body (streamed); a JSON value is 200 JSON. Anything else (a function, a Map, a bare
   * stream, …) is a 500 `invalid_response` whose log line says what came back.
   */
  static from(value: unknown): Response {
    if (value instanceof Response) return value;
    if (value === undefined) return new Response({ status: 204 });
    if (value instanceof globalThis.Response) return fromWhatwg(value);
    const unanswerable = notJson(value);
    if (unanswerable !== undefined) throw invalidResponse(unanswerable);
    return new Response({ json: value });
  }
}

/** `JSON.stringify` of a handler's answer, or a 500 `invalid_response` naming why it cannot be sent. */
export function encodeJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw invalidResponse(`a value JSON cannot encode (${(error as Error).message.split('\n')[0]})`, error);
  }
  if (text === undefined) throw invalidResponse(describe(value));
  return text;
}

function fromWhatwg(response: globalThis.Response): Response {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  // A ReadableStream is an async iterable of Uint8Array chunks: written as it is read.
  const body = response.body === null ? undefined : (response.body as unknown as AsyncIterable<Uint8Array>);
  return new Response({ status: response.status, headers, body });
}

/** Why a value is no JSON answer, for things JSON.stringify would turn silently into `{}` or nothing. */
function notJson(value: unknown): string | undefined {
  const type = typeof value;
  if (type === 'function' || type === 'symbol' || type === 'bigint') return describe(value);
  if (type !== 'object' || value === null) return undefined;
  if (value instanceof Map || value instanceof Set || value instanceof WeakMap || value instanceof WeakSet) return describe(value);
  if (value instanceof ReadableStream || typeof (value as { pipe?: unknown }).pipe === 'function') {
    return `${describe(value)} (a stream: return new Response({ body: stream }) or a WHATWG Response to send it)`;
  }
  if (typeof (value as { then?: unknown }).then === 'function') return describe(value);
  return undefined;
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value === 'object' && value !== null) return `an instance of ${value.constructor?.name ?? 'a class'}`;
  return `a ${typeof value}`;
}

function invalidResponse(what: string, cause?: unknown): KaliumError {
  return new KaliumError(
    'invalid_response',
    500,
    `The handler returned ${what}, which kalium cannot answer with; return a JSON value, a Response or a WHATWG Response.`,
    { expose: false, cause },
  );
}

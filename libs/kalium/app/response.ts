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

  /** A handler's return value as a Response: `undefined` is 204, anything else not a Response is 200 JSON. */
  static from(value: unknown): Response {
    if (value instanceof Response) return value;
    if (value === undefined) return new Response({ status: 204 });
    return new Response({ json: value });
  }
}

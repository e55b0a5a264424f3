import { isUtf8 } from 'node:buffer';

/**
 * The plain-data form of a request: what a background job carries through Redis. The body is kept
 * once: as `text` when it is valid UTF-8 (as JSON bodies are), with `isJson` when the api parsed it as JSON
 * (the worker parses it again); otherwise base64-encoded in `body`, with `json` (the form older apis
 * wrote for every body, which kept a JSON body twice: as base64 bytes and parsed).
 */
export interface RequestData {
  id: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  query: Record<string, string | string[]>;
  text?: string;
  isJson?: boolean;
  body?: string;
  json?: unknown;
}

/**
 * Where a Request's headers and query come from when they are built on first read: most handlers
 * read neither, and building them (and a closure per request for each) was a good part of a small
 * route's CPU.
 */
export interface RequestSource {
  headers(): Record<string, string>;
  query(): Record<string, string | string[]>;
}

/**
 * What a handler receives. `json` is the parsed body (undefined when there is none or it is not JSON),
 * or on a route with an `input` schema the schema's output, typed `J`; `body` is always the raw bytes.
 * `signal` aborts when the handler's `timeoutMs` passes.
 */
// `any` by default, not `unknown`: without a schema, model code reads `request.json.text` directly, as in potassium.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export class Request<J = any> {
  readonly id: string;
  readonly path: string;
  readonly method: string;
  readonly json: J;
  readonly body: Buffer;
  #headers: Record<string, string> | undefined;
  #query: Record<string, string | string[]> | undefined;
  #source: RequestSource | undefined;
  #signal: AbortSignal | { readonly signal: AbortSignal } | undefined;

  /**
   * `signal` may be an AbortSignal or anything holding one (read only when the handler asks for it).
   * Either `headers` and `query` or a `source` that builds them when first read.
   */
  constructor(
    init: Omit<RequestData, 'body' | 'headers' | 'query'> & {
      body: Buffer;
      signal?: AbortSignal | { readonly signal: AbortSignal };
    } & ({ headers: Record<string, string>; query: Record<string, string | string[]>; source?: undefined } | { source: RequestSource; headers?: undefined; query?: undefined }),
  ) {
    this.id = init.id;
    this.path = init.path;
    this.method = init.method;
    this.#headers = init.headers;
    this.#query = init.query;
    this.#source = init.source;
    this.json = init.json as J;
    this.body = init.body;
    this.#signal = init.signal;
  }

  /** Lower-case header names; a repeated header's values joined with `, `. */
  get headers(): Record<string, string> {
    return (this.#headers ??= this.#source!.headers());
  }

  get query(): Record<string, string | string[]> {
    return (this.#query ??= this.#source!.query());
  }

  get signal(): AbortSignal {
    this.#signal ??= new AbortController().signal;
    const source = this.#signal;
    return source instanceof AbortSignal ? source : source.signal;
  }

  /** The same request with `json` replaced (by an input schema's output); body, signal and all else shared. */
  withJson<T>(json: T): Request<T> {
    const { id, path, method, body } = this;
    return new Request<T>({ id, path, method, headers: this.headers, query: this.query, json, body, signal: this.#signal });
  }

  toData(): RequestData {
    const { id, path, method, headers, query, body, json } = this;
    if (!isUtf8(body)) return { id, path, method, headers, query, body: body.toString('base64'), json };
    const data: RequestData = { id, path, method, headers, query, text: body.toString('utf8') };
    if (json !== undefined) data.isJson = true;
    return data;
  }

  static fromData(data: RequestData, signal?: AbortSignal | { readonly signal: AbortSignal }): Request {
    const { id, path, method, headers, query, text } = data;
    if (text === undefined) return new Request({ id, path, method, headers, query, json: data.json, body: Buffer.from(data.body ?? '', 'base64'), signal });
    return new Request({ id, path, method, headers, query, json: data.isJson ? JSON.parse(text) : undefined, body: Buffer.from(text, 'utf8'), signal });
  }
}

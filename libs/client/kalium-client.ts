import { KaliumClientError } from './client-error.ts';
import { streamChunks } from './job-stream.ts';
import { isFinished, type JobBody, type JobEvent, type JobWebhookEvent, type SubmitResult } from './job-types.ts';
import { parseRetryAfter, retryDelayMs } from '../shared/retry-delay.ts';
import type { BodyAt, PathOf, ResultAt } from './route-types.ts';
import { SseParser } from './sse-parser.ts';

export interface KaliumClientOptions {
  /** Where the kalium api answers, e.g. `http://localhost:8000`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` when the server has `API_KEY` set. */
  apiKey?: string;
  /** How `run` retries while the GPU is busy (423). */
  retry?: {
    /** Tries in all, the first included. @defaultValue 10 */
    attempts?: number;
    /** First delay; doubles per retry with jitter, and never shorter than the server's `Retry-After`. @defaultValue 250 */
    initialDelayMs?: number;
    /** @defaultValue 5000 */
    maxDelayMs?: number;
  };
  /** The fetch to use. @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

/** Per-call options every method takes. */
export interface CallOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export interface SubmitOptions extends CallOptions {
  /** Where to POST the job's events: a URL, or a URL and the events wanted (default the three endings). */
  webhook?: string | { url: string; events?: JobWebhookEvent[] };
  /** The same key gives the same job: safe to retry a submit whose answer was lost. */
  idempotencyKey?: string;
  /**
   * `Cancel-After`: the job is canceled (`deadline_exceeded`) when it has not finished this long after
   * it was accepted; a duration (`30s`, `5m`, `1h`) or ms. @defaultValue the route's deadlineMs, if any
   */
  deadline?: string | number;
  /** `X-Priority`: queued jobs run high before normal before low. @defaultValue 'normal' */
  priority?: 'high' | 'normal' | 'low';
}

export interface WaitOptions {
  /** Give up (`wait_timeout`) after this long. @defaultValue no limit: every job ends or expires (404) */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The longest `?wait=` the server holds a poll (SPEC §4). */
const MAX_WAIT_SECONDS = 60;

/**
 * A client of a kalium api, for sync callers and submit-then-poll clients. Works in Node 20 with the
 * built-in fetch. Every failure is a `KaliumClientError` carrying the server's error `code`.
 *
 * `new KaliumClient<typeof app>(…)` types each call from the app's own type: `run` takes only its
 * handler paths, `submit` only its background paths, each with its input schema's body, and `run`
 * resolves to the route's answer. Without the type argument any path and body are taken.
 *
 * @typeParam A - the app (`typeof app`), whose type records its routes; unknown: untyped.
 */
export class KaliumClient<A = unknown> {
  /** The base URL, ending in `/`, so paths resolve beneath it. */
  readonly #base: URL;
  readonly #apiKey: string | undefined;
  readonly #retry: { attempts: number; initialMs: number; maxMs: number };
  readonly #fetch: typeof fetch;

  constructor(options: KaliumClientOptions) {
    let base: URL;
    try {
      base = new URL(options.baseUrl);
    } catch {
      throw new TypeError(`KaliumClient baseUrl must be an absolute http(s) URL, got ${JSON.stringify(options.baseUrl)}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new TypeError(`KaliumClient baseUrl must be http or https, got ${base.protocol}`);
    }
    const retry = { attempts: 10, initialDelayMs: 250, maxDelayMs: 5000, ...options.retry };
    if (!Number.isInteger(retry.attempts) || retry.attempts < 1) {
      throw new TypeError(`KaliumClient retry.attempts must be a whole number of at least 1, got ${retry.attempts}`);
    }
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.#base = base;
    this.#apiKey = options.apiKey;
    this.#retry = { attempts: retry.attempts, initialMs: retry.initialDelayMs, maxMs: retry.maxDelayMs };
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /**
   * Calls a sync handler route and resolves to its JSON answer (or text, when it is not JSON). While the
   * GPU is busy (423) it retries with backoff and jitter, never sooner than the server's `Retry-After`.
   */
  // `T` first, so `run<Answer>('/x', …)` still names the answer on an untyped client.
  async run<T = unknown, P extends PathOf<A, 'handler'> = PathOf<A, 'handler'>>(
    path: P,
    input?: BodyAt<A, P>,
    options: CallOptions = {},
  ): Promise<unknown extends T ? ResultAt<A, P> : T> {
    for (let attempt = 1; ; attempt++) {
      const response = await this.#send('POST', path, { ...options, json: input });
      if (response.ok) return (await readBody(response)) as unknown extends T ? ResultAt<A, P> : T;
      const error = await errorFrom(response);
      if (error.status !== 423 || attempt >= this.#retry.attempts) throw error;
      await sleep(retryDelayMs(attempt, this.#retry, error.retryAfterMs), options.signal);
    }
  }

  /** Submits a request to a background route; resolves to the 202 body (`id`, `status_url`, …). */
  async submit<P extends PathOf<A, 'background'>>(path: P, input?: BodyAt<A, P>, options: SubmitOptions = {}): Promise<SubmitResult> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    if (options.deadline !== undefined) headers['cancel-after'] = typeof options.deadline === 'number' ? `${Math.ceil(options.deadline)}ms` : options.deadline;
    if (options.priority !== undefined) headers['x-priority'] = options.priority;
    if (options.webhook !== undefined) {
      const webhook = typeof options.webhook === 'string' ? { url: options.webhook } : options.webhook;
      headers['x-webhook-url'] = webhook.url;
      if (webhook.events) headers['x-webhook-events'] = webhook.events.join(',');
    }
    return this.#json('POST', path, { json: input, headers, signal: options.signal });
  }

  /** The job as it stands (`GET /jobs/:id`). */
  get<R = unknown>(id: string, options: CallOptions = {}): Promise<JobBody<R>> {
    return this.#json('GET', jobPath(id), options);
  }

  /** Resolves to the job once it has ended, long-polling `GET /jobs/:id?wait=`. */
  async wait<R = unknown>(id: string, options: WaitOptions = {}): Promise<JobBody<R>> {
    const deadline = Date.now() + (options.timeoutMs ?? Infinity);
    for (;;) {
      const left = deadline - Date.now();
      const seconds = Math.max(0, Math.min(MAX_WAIT_SECONDS, Math.floor(left / 1000)));
      const asked = Date.now();
      const job = await this.#json<JobBody<R>>('GET', `${jobPath(id)}?wait=${seconds}`, { signal: options.signal });
      if (isFinished(job.status)) return job;
      if (Date.now() >= deadline) {
        throw new KaliumClientError('wait_timeout', 0, `job ${id} was still ${job.status} after ${options.timeoutMs} ms`, { body: job });
      }
      // A server that answered at once (it was told to wait 0 s) is not polled in a tight loop.
      const spent = Date.now() - asked;
      if (spent < 200) await sleep(Math.min(200 - spent, Math.max(0, deadline - Date.now())), options.signal);
    }
  }

  /**
   * The job's events as they happen (`GET /jobs/:id/events`, Server-Sent Events): `progress`, a
   * streaming job's `output` chunks (`{ index, chunk }`, every one from the first), then `succeeded`,
   * `failed` or `canceled`; the iteration ends with the stream. Breaking out of the loop closes the
   * connection.
   */
  async *events(id: string, options: CallOptions = {}): AsyncGenerator<JobEvent, void, undefined> {
    const controller = new AbortController();
    const abort = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      const response = await this.#send('GET', `${jobPath(id)}/events`, {
        headers: { accept: 'text/event-stream', ...options.headers },
        signal: controller.signal,
      });
      if (!response.ok) throw await errorFrom(response);
      if (!response.body) return;
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        for (const event of parser.push(decoder.decode(chunk, { stream: true }))) {
          yield { event: event.event, data: parseData(event.data), id: event.id };
        }
      }
      parser.end();
    } finally {
      options.signal?.removeEventListener('abort', abort);
      controller.abort();
    }
  }

  /**
   * A streaming job's chunks as they come (every one from the first, however late the call), ending
   * when the job succeeds; throws `job_failed`, `deadline_exceeded` or `job_canceled` (see job-stream.ts).
   */
  stream<T = unknown>(id: string, options: CallOptions = {}): AsyncGenerator<T, void, undefined> {
    return streamChunks<T>(() => this.events(id, options));
  }

  /** Cancels the job (`DELETE /jobs/:id`); resolves to its state. A job that had ended: `job_finished` (409). */
  cancel<R = unknown>(id: string, options: CallOptions = {}): Promise<JobBody<R>> {
    return this.#json('DELETE', jobPath(id), options);
  }

  async #json<T>(method: string, path: string, options: CallOptions & { json?: unknown }): Promise<T> {
    const response = await this.#send(method, path, options);
    if (!response.ok) throw await errorFrom(response);
    return (await readBody(response)) as T;
  }

  async #send(method: string, path: string, options: CallOptions & { json?: unknown }): Promise<Response> {
    const url = new URL(path.replace(/^\//, ''), this.#base);
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    let body: string | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    try {
      return await this.#fetch(url, { method, headers, body, signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new KaliumClientError('network_error', 0, `${method} ${url.href} failed: ${(error as Error).message}`, { cause: error });
    }
  }
}

function jobPath(id: string): string {
  return `/jobs/${encodeURIComponent(id)}`;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!/\bjson\b/i.test(response.headers.get('content-type') ?? '')) return text;
  return text === '' ? undefined : JSON.parse(text);
}

/** Turns an error response into a `KaliumClientError`, keeping the server's code, message and request id. */
async function errorFrom(response: Response): Promise<KaliumClientError> {
  const text = await response.text().catch(() => '');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; request_id?: unknown } } | null)?.error;
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  const requestId = typeof error?.request_id === 'string' ? error.request_id : (response.headers.get('x-request-id') ?? undefined);
  if (typeof error?.code === 'string') {
    return new KaliumClientError(error.code, response.status, String(error.message ?? error.code), { requestId, retryAfterMs, body });
  }
  return new KaliumClientError(`http_${response.status}`, response.status, `HTTP ${response.status} ${response.statusText}`, {
    requestId,
    retryAfterMs,
    body,
  });
}

function parseData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

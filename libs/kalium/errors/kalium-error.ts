/**
 * The one error type kalium raises on purpose. `code` is stable snake_case (clients switch on it),
 * `status` is the HTTP status it maps to, and `expose` says whether `message` is meant for the client
 * (Koa's convention): unexposed errors are logged and answered with a generic message.
 */
export class KaliumError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;
  /** Extra response headers, e.g. `Retry-After` on 423/503 or `Allow` on 405. */
  readonly headers: Record<string, string>;
  /** More fields for the answer's `error` object, e.g. `issues` on a 422 `invalid_input`. */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    status: number,
    message: string,
    options: { cause?: unknown; expose?: boolean; headers?: Record<string, string>; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'KaliumError';
    this.code = code;
    this.status = status;
    this.expose = options.expose ?? status < 500;
    this.headers = options.headers ?? {};
    this.details = options.details;
  }
}

/** Raised at start-up when an environment variable or an option has a bad value. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const errors = {
  invalidJson: (cause?: unknown, message = 'The request body is not valid JSON.') =>
    new KaliumError('invalid_json', 400, message, { cause }),
  payloadTooLarge: (limit: number) =>
    new KaliumError('payload_too_large', 413, `The request body is over the limit of ${limit} bytes.`),
  notFound: (path: string) => new KaliumError('not_found', 404, `No route for ${path}.`),
  methodNotAllowed: (method: string, allowed: string[]) =>
    new KaliumError('method_not_allowed', 405, `${method} is not allowed here; use ${allowed.join(', ')}.`, {
      headers: { Allow: allowed.join(', ') },
    }),
  unauthorized: () =>
    new KaliumError('unauthorized', 401, 'A valid bearer token is required.', {
      headers: { 'WWW-Authenticate': 'Bearer' },
    }),
  gpuBusy: (retryAfterSeconds: number) =>
    new KaliumError('gpu_busy', 423, 'The GPU is busy with another request; retry later.', {
      headers: { 'Retry-After': String(retryAfterSeconds) },
    }),
  timeout: (ms: number) =>
    new KaliumError('timeout', 504, `The handler did not answer within ${ms} ms.`, { expose: true }),
  handlerError: (cause: unknown) =>
    new KaliumError('handler_error', 500, 'The handler failed.', { cause, expose: false }),
  initializing: () =>
    new KaliumError('initializing', 503, 'The app is still loading its model; retry shortly.', {
      expose: true,
      headers: { 'Retry-After': '1' },
    }),
  backendUnavailable: (cause?: unknown) =>
    new KaliumError('backend_unavailable', 503, 'The backend (Redis) is unavailable; retry shortly.', {
      cause,
      expose: true,
      headers: { 'Retry-After': '1' },
    }),
  queueFull: (max: number) =>
    new KaliumError('queue_full', 503, `The job queue is full (${max} jobs waiting); retry later.`, {
      expose: true,
      headers: { 'Retry-After': '5' },
    }),
  jobNotFound: (id: string) => new KaliumError('job_not_found', 404, `No job ${id} (unknown, or expired).`),
  invalidJobId: (id: string) =>
    new KaliumError('invalid_job_id', 400, `${JSON.stringify(id.slice(0, 80))} is not a job id (job ids are UUIDs).`),
  jobFinished: (id: string, status: string) =>
    new KaliumError('job_finished', 409, `Job ${id} has already ended (${status}); there is nothing to cancel.`),
  idempotencyKeyReused: () =>
    new KaliumError('idempotency_key_reused', 422, 'This Idempotency-Key was already used with another request body.'),
  badRequest: (message: string) => new KaliumError('bad_request', 400, message),
};

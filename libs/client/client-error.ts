/** Fields a `KaliumClientError` may carry besides its code, status and message. */
export interface KaliumClientErrorDetails {
  /** The server's `request_id`, to find the request in its logs. */
  requestId?: string;
  /** What the server's `Retry-After` asked for, in ms. */
  retryAfterMs?: number;
  /** The error body as the server sent it. */
  body?: unknown;
  cause?: unknown;
}

/**
 * Every failure of a `KaliumClient` call. `code` is the server's stable snake_case error code
 * (`gpu_busy`, `job_not_found`, `queue_full`, …) or one of the client's own: `network_error` (no answer;
 * `status` 0), `wait_timeout` (`wait` gave up; `status` 0), `http_<status>` (an error without kalium's shape).
 */
export class KaliumClientError extends Error {
  readonly code: string;
  /** The HTTP status, or 0 when no response came. */
  readonly status: number;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly body: unknown;

  constructor(code: string, status: number, message: string, details: KaliumClientErrorDetails = {}) {
    super(message, { cause: details.cause });
    this.name = 'KaliumClientError';
    this.code = code;
    this.status = status;
    this.requestId = details.requestId;
    this.retryAfterMs = details.retryAfterMs;
    this.body = details.body;
  }
}

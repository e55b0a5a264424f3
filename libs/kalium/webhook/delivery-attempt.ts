import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { parseRetryAfter } from '../../shared/retry-delay.ts';
import { guardedLookup, isForbiddenAddress } from './address-policy.ts';
import { hostOf } from './webhook-target.ts';

/** What one POST to a receiver came to. */
export type AttemptOutcome =
  /** 2xx: done. */
  | { kind: 'delivered'; status: number }
  /** Worth trying again: another status (3xx included: redirects are not followed), a network error, a timeout. */
  | { kind: 'retry'; status: number | null; error: string; retryAfterMs?: number }
  /** 410 Gone: the receiver asked us to stop. */
  | { kind: 'gone'; status: 410; error: string }
  /** The target is a forbidden address: never retried. */
  | { kind: 'refused'; status: null; error: string };

export interface AttemptRequest {
  url: string;
  body: string;
  /** The Standard Webhooks headers of this attempt. */
  headers: Record<string, string>;
  timeoutMs: number;
  allowPrivate: boolean;
  /** Keep-alive agents whose every socket was opened through the guarded lookup. */
  agents: DeliveryAgents;
}

export interface DeliveryAgents {
  http: http.Agent;
  https: https.Agent;
}

/** Agents of their own, so no socket opened elsewhere (without the address check) is reused for a webhook. */
export function createDeliveryAgents(): DeliveryAgents {
  return {
    http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
  };
}

const USER_AGENT = 'kalium-webhooks/0.1';

/**
 * POSTs one delivery attempt. The address check happens when the socket connects (a custom `lookup`),
 * so what is checked is what is connected to; IP literals, which Node connects to without a lookup, are
 * checked here first. No redirect is followed: `node:http` never follows one, and 3xx counts as a failure.
 * Never throws: every ending is an `AttemptOutcome`.
 */
export function attemptDelivery(request: AttemptRequest): Promise<AttemptOutcome> {
  const url = new URL(request.url);
  const host = hostOf(url);
  if (!request.allowPrivate && isIP(host) && isForbiddenAddress(host)) {
    return Promise.resolve({ kind: 'refused', status: null, error: `${host} is a private, loopback or link-local address` });
  }
  const secure = url.protocol === 'https:';
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const req = (secure ? https : http).request(url, {
      method: 'POST',
      agent: secure ? request.agents.https : request.agents.http,
      lookup: request.allowPrivate ? undefined : guardedLookup,
      headers: {
        ...request.headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(request.body),
        'user-agent': USER_AGENT,
      },
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${request.timeoutMs} ms`));
    }, request.timeoutMs);
    req.on('response', (response) => {
      settle(classify(response.statusCode ?? 0, response.headers['retry-after']));
      // The body is not used; read it so the socket can be reused, bounded by the same timer.
      response.on('error', () => {}); // a body cut off by the timer changes nothing: the status is in
      response.once('close', () => clearTimeout(timer));
      response.resume();
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'WEBHOOK_ADDRESS_FORBIDDEN') settle({ kind: 'refused', status: null, error: error.message });
      else settle({ kind: 'retry', status: null, error: error.message || String(error.code) });
    });
    req.end(request.body);
  });
}

/** Maps a receiver's status to what happens next. */
export function classify(status: number, retryAfter?: string | string[]): AttemptOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 410) return { kind: 'gone', status, error: 'the receiver answered 410 Gone' };
  if (status >= 300 && status < 400) return { kind: 'retry', status, error: `HTTP ${status}: redirects are not followed` };
  const outcome: AttemptOutcome = { kind: 'retry', status, error: `HTTP ${status}` };
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
    if (retryAfterMs !== undefined) outcome.retryAfterMs = retryAfterMs;
  }
  return outcome;
}

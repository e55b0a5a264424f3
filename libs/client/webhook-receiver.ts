import type { IncomingMessage, ServerResponse } from 'node:http';
import getRawBody from 'raw-body';
import { verifyWebhook } from './verify-webhook.ts';

/** One accepted delivery. */
export interface ReceivedWebhook {
  /** `webhook-id`: the same on every retry of one delivery. */
  id: string;
  /** `webhook-timestamp`, seconds since the epoch, of this attempt. */
  timestamp: number;
  /** The parsed JSON body. */
  payload: unknown;
  /** Whether the signature was checked (false only when the receiver has no secret). */
  verified: boolean;
}

export interface WebhookReceiverOptions {
  /** The `whsec_…` secret the sender signs with. Without it, deliveries are accepted unverified. */
  secret?: string;
  /** Called once per delivery id. If it throws, the delivery is answered 500 and the sender retries it. */
  onDelivery: (delivery: ReceivedWebhook) => void | Promise<void>;
  /** Called for a delivery whose id was already accepted (a retry after a lost answer); it is answered 204. */
  onDuplicate?: (id: string) => void;
  /** Called for a refused request, with the status answered and why. */
  onRejected?: (status: number, reason: string) => void;
  /** How many recent ids are remembered for de-duplication. @defaultValue 10000 */
  remember?: number;
  /** Largest body accepted. @defaultValue 1048576 */
  bodyLimit?: number;
}

/**
 * A `node:http` request listener receiving Standard Webhooks deliveries: checks the signature (401 when
 * it fails), answers 204 once per `webhook-id` (a retried delivery is answered 204 again but handed on
 * only once), and 400 for a body that is not JSON.
 */
export function webhookReceiver(options: WebhookReceiverOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const seen = new RecentIds(options.remember ?? 10_000);
  const reject = (res: ServerResponse, status: number, reason: string) => {
    options.onRejected?.(status, reason);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: reason }));
  };
  return (req, res) => {
    void (async () => {
      if (req.method !== 'POST') return reject(res, 405, 'POST only');
      let raw: string;
      try {
        raw = await getRawBody(req, { limit: options.bodyLimit ?? 1024 * 1024, encoding: 'utf8' });
      } catch (error) {
        return reject(res, (error as { status?: number }).status ?? 400, (error as Error).message);
      }
      if (options.secret && !verifyWebhook(options.secret, req.headers, raw)) return reject(res, 401, 'signature does not verify');
      const id = req.headers['webhook-id'];
      if (typeof id !== 'string' || id === '') return reject(res, 400, 'webhook-id header missing');
      let payload: unknown;
      try {
        payload = JSON.parse(raw);
      } catch {
        return reject(res, 400, 'body is not JSON');
      }
      if (!seen.add(id)) {
        options.onDuplicate?.(id);
        return res.writeHead(204).end();
      }
      try {
        await options.onDelivery({ id, timestamp: Number(req.headers['webhook-timestamp']), payload, verified: Boolean(options.secret) });
      } catch (error) {
        seen.delete(id); // not handled: let the sender's retry bring it again
        return reject(res, 500, `delivery handler failed: ${(error as Error).message}`);
      }
      res.writeHead(204).end();
    })();
  };
}

/** The most recent ids, oldest forgotten first. */
class RecentIds {
  readonly #ids = new Set<string>();
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  /** Adds an id; false when it was already there. */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.#limit) this.#ids.delete(this.#ids.values().next().value!);
    return true;
  }
  delete(id: string): void {
    this.#ids.delete(id);
  }
}

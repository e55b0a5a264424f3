import { Webhook } from 'standardwebhooks';

/**
 * Signs deliveries per the Standard Webhooks spec: `webhook-signature: v1,<base64 HMAC-SHA256 of
 * "<id>.<timestamp>.<body>">` keyed by the base64-decoded part of a `whsec_…` secret. The library is the
 * reference implementation, so receivers using any spec-following library verify what we send.
 */
export class WebhookSigner {
  readonly #webhook: Webhook;

  /** @throws TypeError when the secret is not a usable `whsec_…` secret. */
  constructor(secret: string) {
    try {
      this.#webhook = new Webhook(secret);
    } catch (error) {
      throw new TypeError(`WEBHOOK_SECRET is not a valid whsec_ secret: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The `webhook-signature` value for one attempt. */
  sign(id: string, timestamp: Date, body: string): string {
    return this.#webhook.sign(id, timestamp, body);
  }
}

/**
 * The Standard Webhooks headers of one attempt. The id is the same on every attempt of a delivery; the
 * timestamp (and so the signature) is the attempt's own, so a retry hours later still passes receivers'
 * replay windows.
 */
export function webhookHeaders(id: string, body: string, signer: WebhookSigner | undefined, now = new Date()): Record<string, string> {
  const headers: Record<string, string> = {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
  };
  if (signer) headers['webhook-signature'] = signer.sign(id, now, body);
  return headers;
}

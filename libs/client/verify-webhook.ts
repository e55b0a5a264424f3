import { Webhook } from 'standardwebhooks';

/** Request headers as Node (`req.headers`), fetch (`Headers`) or a plain object give them. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/**
 * Verifies a Standard Webhooks delivery: the `webhook-signature` (any of its space-separated `v1,`
 * signatures) must be the HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<raw body>` under the secret,
 * and the timestamp within 5 minutes of now (replays of old deliveries fail). Pass the body exactly as
 * received, before any JSON parsing.
 *
 * @param secret - the `whsec_…` secret the server signs with (`WEBHOOK_SECRET`).
 * @returns true for an authentic, fresh delivery; false otherwise (never throws for bad input).
 * @throws TypeError when the secret itself is unusable: that is a configuration mistake, not a bad delivery.
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, rawBody: string | Uint8Array): boolean {
  let webhook: Webhook;
  try {
    webhook = new Webhook(secret);
  } catch (error) {
    throw new TypeError(`verifyWebhook needs a whsec_ secret: ${(error as Error).message}`, { cause: error });
  }
  const body = typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  try {
    webhook.verify(body, flatten(headers), { jsonParse: false });
    return true;
  } catch {
    return false;
  }
}

function flatten(headers: WebhookHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  if (headers instanceof Headers) {
    headers.forEach((value, name) => (flat[name] = value));
    return flat;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(' ') : value;
  }
  return flat;
}

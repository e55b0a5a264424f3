import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { KaliumError } from '../errors/kalium-error.ts';
import { isForbiddenAddress } from './address-policy.ts';

/** Longest webhook URL accepted; receivers' URLs are short, and this one lives in every job. */
const MAX_URL_LENGTH = 2048;

/**
 * The submit-time check of a webhook target: an absolute http(s) URL whose host does not resolve to a
 * forbidden address (unless `allowPrivate`). The same rule is applied again when each attempt connects,
 * after DNS, so this check is for a clear 400 now, not the only fence.
 *
 * @throws KaliumError 400 `webhook_url_invalid` (not a URL, too long, host unknown) or
 *   400 `webhook_url_forbidden` (not http/https, or a private, loopback or link-local address).
 */
export async function checkWebhookTarget(raw: string, allowPrivate: boolean): Promise<URL> {
  const url = parseTarget(raw);
  if (allowPrivate) return url;
  const host = hostOf(url);
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await dns.lookup(host, { all: true })).map((entry) => entry.address);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTFOUND') {
      throw invalid(`the webhook URL's host ${host} does not resolve`, error);
    }
    // A DNS hiccup is not the caller's fault: accept, and let the delivery-time check decide.
    return url;
  }
  const forbidden = addresses.find(isForbiddenAddress);
  if (forbidden) {
    throw new KaliumError(
      'webhook_url_forbidden',
      400,
      `The webhook URL's host ${host} resolves to ${forbidden}, a private, loopback or link-local address; ` +
        'set WEBHOOK_ALLOW_PRIVATE=true to allow such targets.',
    );
  }
  return url;
}

/** Parses and checks the form of a webhook URL (no DNS). */
export function parseTarget(raw: string): URL {
  if (typeof raw !== 'string' || raw.length === 0) throw invalid('the webhook URL is empty');
  if (raw.length > MAX_URL_LENGTH) throw invalid(`the webhook URL is over ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw invalid(`the webhook URL ${JSON.stringify(raw)} is not an absolute URL`, error);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KaliumError('webhook_url_forbidden', 400, `Webhook URLs must be http or https, got ${url.protocol.slice(0, -1)}.`);
  }
  return url;
}

/** The URL's host as DNS and `isIP` want it: IPv6 literals without their brackets. */
export function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

function invalid(reason: string, cause?: unknown): KaliumError {
  return new KaliumError('webhook_url_invalid', 400, `Invalid webhook URL: ${reason}.`, { cause });
}

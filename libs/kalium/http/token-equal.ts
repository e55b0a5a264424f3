import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented secret with the expected one in constant time. Both are hashed first, so
 * neither the comparison nor an early length check reveals how long the secret is or how much of
 * it matched.
 */
export function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header; undefined for any other form. */
export function bearerToken(authorization: string): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  return match?.[1];
}

/** The password of an `Authorization: Basic <base64 user:password>` header; undefined for any other form. */
export function basicPassword(authorization: string): string | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(authorization);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

import { createHash } from 'node:crypto';
import type { Request } from '../app/request.ts';

/**
 * A stable digest of what a handler sees of a request, for its cache key: the user's `key(request)`
 * when the route gives one, else the query and the body. A JSON body is hashed in a canonical form
 * (object keys sorted, no whitespace), so `{"a":1,"b":2}` and `{ "b": 2, "a": 1 }` share an entry;
 * any other body is hashed as raw bytes.
 * @throws TypeError when `key` returns something other than a non-empty string.
 */
export function requestDigest(request: Request, key?: (request: Request) => string): string {
  const hash = createHash('sha256');
  if (key) {
    const chosen = key(request);
    if (typeof chosen !== 'string' || chosen.length === 0) {
      throw new TypeError(`cache.key must return a non-empty string, got ${JSON.stringify(chosen)}`);
    }
    hash.update('key\0').update(chosen);
  } else {
    hash.update('query\0').update(canonicalJson(request.query));
    if (request.json !== undefined) hash.update('\0json\0').update(canonicalJson(request.json));
    else hash.update('\0bytes\0').update(request.body);
  }
  return hash.digest('base64url');
}

/** JSON with object keys in sorted order, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const fields = Object.keys(object)
      .filter((name) => object[name] !== undefined)
      .sort()
      .map((name) => `${JSON.stringify(name)}:${canonicalJson(object[name])}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

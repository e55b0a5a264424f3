/** An entity tag as it appears in `If-None-Match`: optionally weak (`W/`), always quoted. */
const ENTITY_TAG = /(?:W\/)?"[^"]*"|\*/g;

/**
 * Whether `If-None-Match` matches `etag` (RFC 9110 §13.1.2): `*` matches any stored answer, and a
 * listed tag matches under the weak comparison (`W/"x"` matches `"x"`).
 */
export function ifNoneMatch(header: string, etag: string): boolean {
  if (!header) return false;
  const ours = opaque(etag);
  for (const tag of header.match(ENTITY_TAG) ?? []) {
    if (tag === '*' || opaque(tag) === ours) return true;
  }
  return false;
}

function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** Whether the request's `Cache-Control` holds the `no-cache` directive (answer afresh, not from the cache). */
export function requestsNoCache(cacheControl: string): boolean {
  return cacheControl !== '' && cacheControl.split(',').some((directive) => directive.trim().toLowerCase() === 'no-cache');
}

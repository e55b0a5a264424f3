/**
 * The deepest nesting of arrays and objects kalium accepts in a JSON body. JSON.parse takes any depth,
 * but much of what a body goes through afterwards is recursive (the cache's canonical form,
 * JSON.stringify into a job, a user's own code) and would overflow the stack a few thousand levels
 * down: a 5xx for what is the caller's mistake. One limit at the edge answers 400 on every route alike;
 * no real model input nests this deep.
 */
export const MAX_JSON_DEPTH = 512;

/**
 * Whether valid JSON text nests deeper than `max`. A byte scan (strings skipped), not a walk of the
 * parsed value: it cannot overflow, and a body shorter than `max` bytes cannot be that deep, so the
 * common small body costs nothing.
 */
export function nestsDeeperThan(json: Buffer, max: number = MAX_JSON_DEPTH): boolean {
  if (json.length <= max) return false;
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i];
    if (byte === 0x22) {
      // A string: skip to its closing quote, past escaped characters.
      for (i++; i < json.length && json[i] !== 0x22; i++) if (json[i] === 0x5c) i++;
    } else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > max) return true;
    } else if (byte === 0x5d || byte === 0x7d) {
      depth--;
    }
  }
  return false;
}

import { createHash } from 'node:crypto';
import { encodeJson, type Response } from '../app/response.ts';
import { isStreamBody } from './write-response.ts';

/** A handler's answer as the response cache keeps it. */
export interface CachedResponse {
  status: number;
  /** Lower-case names; always holds `content-type` when there is a body. */
  headers: Record<string, string>;
  /** Quoted strong entity tag: a hash of the body. */
  etag: string;
  body: Buffer;
}

/**
 * Encodes an answer for the cache, or gives undefined when it must not be stored: a status outside
 * 2xx, a streamed body (it is produced as it is sent), or headers that make it private to one caller
 * (`Set-Cookie`, `Cache-Control: no-store` or `private`). Layout: a 4-byte length, the JSON of status,
 * headers and ETag, then the body bytes.
 */
export function encodeCachedResponse(response: Response): Buffer | undefined {
  if (response.status < 200 || response.status > 299 || isStreamBody(response.body)) return undefined;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) headers[name.toLowerCase()] = value;
  if (headers['set-cookie'] !== undefined || /\b(?:no-store|private)\b/i.test(headers['cache-control'] ?? '')) return undefined;
  const { body, type } = bodyOf(response);
  if (type && headers['content-type'] === undefined) headers['content-type'] = type;
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
  const head = Buffer.from(JSON.stringify({ s: response.status, h: headers, e: etag }));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(head.length);
  return Buffer.concat([length, head, body]);
}

export function decodeCachedResponse(value: Buffer): CachedResponse {
  const length = value.readUInt32BE(0);
  const head = JSON.parse(value.subarray(4, 4 + length).toString('utf8')) as { s: number; h: Record<string, string>; e: string };
  return { status: head.s, headers: head.h, etag: head.e, body: value.subarray(4 + length) };
}

/** The bytes and default content type Koa would have sent for this answer (see write-response.ts). */
function bodyOf(response: Response): { body: Buffer; type?: string } {
  if (response.json !== undefined) return { body: Buffer.from(encodeJson(response.json)), type: 'application/json; charset=utf-8' };
  if (Buffer.isBuffer(response.body)) return { body: response.body, type: 'application/octet-stream' };
  if (typeof response.body === 'string') {
    const type = /^\s*</.test(response.body) ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8';
    return { body: Buffer.from(response.body), type };
  }
  return { body: Buffer.alloc(0) };
}

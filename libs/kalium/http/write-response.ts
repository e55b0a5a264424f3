import { Readable } from 'node:stream';
import type { Context } from 'koa';
import { encodeJson, type Response } from '../app/response.ts';

/** Whether a body is to be streamed chunk by chunk. */
export function isStreamBody(body: unknown): body is AsyncIterable<Uint8Array | string> {
  return typeof body === 'object' && body !== null && !Buffer.isBuffer(body) && Symbol.asyncIterator in body;
}

/**
 * Writes a handler's Response to Koa. A streamed body is sent as it is produced; `onStreamEnd` runs
 * when the stream closes, finished or not (the GPU is busy until then).
 */
export function writeResponse(ctx: Context, response: Response, onStreamEnd?: () => void): void {
  ctx.status = response.status;
  for (const name in response.headers) ctx.set(name, response.headers[name]!);
  if (response.json !== undefined) {
    // Set on Node's response, not through ctx.type (a mime-type lookup per request); Koa keeps a type already set.
    if (!ctx.res.hasHeader('content-type')) ctx.res.setHeader('Content-Type', 'application/json; charset=utf-8');
    ctx.body = encodeJson(response.json);
  } else if (isStreamBody(response.body)) {
    const stream = Readable.from(response.body, { objectMode: false });
    if (onStreamEnd) stream.once('close', onStreamEnd);
    if (!response.headers['content-type'] && !response.headers['Content-Type']) ctx.type = 'application/octet-stream';
    ctx.body = stream;
  } else if (response.body !== undefined) {
    ctx.body = response.body;
  }
}

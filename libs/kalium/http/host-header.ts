import type { Context } from 'koa';
import { KaliumError } from '../errors/kalium-error.ts';

/**
 * RFC 9112 §3.2: an HTTP/1.1 request without a Host header, or with more than one, is 400. Node keeps
 * the first of two Hosts and, without a Host, answers a bare 400 of its own (turned off in
 * api-server.ts so this answers in kalium's shape). Two Hosts are how request smuggling through a
 * proxy that reads the other one begins.
 */
export function checkHostHeader(ctx: Context): void {
  const raw = ctx.req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
  }
  if (hosts > 1) throw new KaliumError('bad_request', 400, 'The request has more than one Host header.');
  if (hosts === 0 && ctx.req.httpVersion === '1.1') throw new KaliumError('bad_request', 400, 'An HTTP/1.1 request needs a Host header.');
}

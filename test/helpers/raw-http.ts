import { connect } from 'node:net';

/** An HTTP answer as read off a raw socket. `status` 0: the connection closed with no answer. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything the server sent, unparsed. */
  raw: string;
  /** ms from the first byte written to the connection's close (or to `timeoutMs`). */
  ms: number;
  /** True when the server neither answered nor closed within `timeoutMs`. */
  hung: boolean;
}

/**
 * Writes `parts` to a fresh TCP connection (a string or Buffer each, `pauseMs` apart) and reads until
 * the server closes it, or `untilAnswered` sees a whole answer, or `timeoutMs` passes. For requests no
 * HTTP client would send.
 */
export function rawRequest(
  port: number,
  parts: Array<string | Buffer>,
  options: { pauseMs?: number; timeoutMs?: number; untilAnswered?: boolean; host?: string } = {},
): Promise<RawAnswer> {
  const { pauseMs = 0, timeoutMs = 10_000, untilAnswered = false, host = '127.0.0.1' } = options;
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, host);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (hung: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseAnswer(Buffer.concat(chunks).toString('latin1')), ms: Date.now() - started, hung });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (untilAnswered && isComplete(Buffer.concat(chunks).toString('latin1'))) finish(false);
    });
    socket.on('close', () => finish(false));
    socket.on('error', () => finish(false));
    socket.once('connect', async () => {
      for (const [i, part] of parts.entries()) {
        if (i > 0 && pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
        if (socket.destroyed) return;
        socket.write(part);
      }
    });
  });
}

function isComplete(raw: string): boolean {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(raw.slice(0, end));
  return length ? raw.length - end - 4 >= Number(length[1]) : false;
}

function parseAnswer(raw: string): Omit<RawAnswer, 'ms' | 'hung'> {
  const end = raw.indexOf('\r\n\r\n');
  if (!raw.startsWith('HTTP/') || end < 0) return { status: 0, headers: {}, body: '', raw };
  const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: raw.slice(end + 4), raw };
}

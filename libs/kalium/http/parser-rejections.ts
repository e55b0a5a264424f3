import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.ts';
import { chooseRequestId } from './request-id.ts';

/** What the api tells `answerParserRejections`. */
export interface ParserRejectionOptions {
  logger: Logger;
  /** Every method some route takes: a CONNECT's `Allow`. */
  allowedMethods: readonly string[];
  /** Told of each answer, for `kalium_http_requests_total` (route `unparsed` when the parser refused it). */
  count?: (route: string, method: string, status: number) => void;
}

/**
 * Answers for what never reaches Koa: requests Node's HTTP parser rejects (`clientError`), CONNECT
 * (`connect`) and an `Expect` other than 100-continue (`checkExpectation`). Left to Node they get a
 * bare status line with no body and no request id, or (CONNECT) a dropped connection. Here they get
 * kalium's JSON error shape and `X-Request-Id`, then the connection closes: after a framing error
 * nothing more on it can be trusted.
 */
export function answerParserRejections(server: Server, { logger, allowedMethods, count }: ParserRejectionOptions): void {
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => {
    const code = error.code ?? '';
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const rejection = rejectionFor(code, error.rawPacket);
    // A request Koa already holds (its body stalled past REQUEST_TIMEOUT_MS) keeps the id it was given.
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const requestId = String(inFlight?.getHeader('x-request-id') ?? chooseRequestId(givenRequestId(error.rawPacket)));
    logger.info({ requestId, status: rejection.status, parserCode: code }, 'request rejected by the HTTP parser');
    count?.('unparsed', '', rejection.status);
    writeRawError(socket, { ...rejection, requestId });
  });

  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    const allow = allowedMethods.join(', ');
    count?.('unmatched', 'CONNECT', 405);
    writeRawError(socket, {
      status: 405,
      code: 'method_not_allowed',
      message: `CONNECT is not allowed here; use ${allow}.`,
      requestId: callerRequestId(request),
      headers: { Allow: allow },
    });
  });

  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const body = errorJson('expectation_failed', `Expect: ${String(request.headers.expect).slice(0, 80)} is not supported; only 100-continue is.`, callerRequestId(request));
    count?.('unmatched', request.method ?? '', 417);
    response.writeHead(417, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body.text),
      'X-Request-Id': body.id,
      Connection: 'close',
    });
    response.end(body.text);
  });
}

function callerRequestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'] ?? request.headers['x-banana-request-id'];
  return chooseRequestId(typeof given === 'string' ? given : undefined);
}

/** The caller's X-Request-Id (or X-Banana-Request-Id) in the bytes the parser refused, if it got that far. */
function givenRequestId(rawPacket: Buffer | undefined): string | undefined {
  if (!rawPacket) return undefined;
  return /\r\nx-(?:banana-)?request-id:[ \t]*([^\r\n]*?)[ \t]*\r\n/i.exec(rawPacket.toString('latin1'))?.[1];
}

interface Rejection {
  status: number;
  code: string;
  message: string;
}

/** llhttp's error codes, as the statuses RFC 9110/9112 give them. */
function rejectionFor(code: string, rawPacket: Buffer | undefined): Rejection {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, code: 'request_timeout', message: 'The request was not received in time (HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS).' };
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    // The limit counts the request line too: a request line that alone fills it is a URI too long.
    const lineEnd = rawPacket?.indexOf('\r\n') ?? -1;
    if (rawPacket && (lineEnd < 0 || lineEnd > rawPacket.length / 2)) {
      return { status: 414, code: 'uri_too_long', message: 'The request target is too long.' };
    }
    return { status: 431, code: 'headers_too_large', message: 'The request headers are too large.' };
  }
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') {
    return { status: 413, code: 'payload_too_large', message: 'The chunk extensions are too large.' };
  }
  const what = PARSER_MESSAGES[code] ?? 'The request is malformed';
  return { status: 400, code: 'bad_request', message: `${what}.` };
}

const PARSER_MESSAGES: Record<string, string> = {
  HPE_INVALID_CONTENT_LENGTH: 'Content-Length is malformed or given twice',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'Content-Length and Transfer-Encoding cannot both be given',
  HPE_INVALID_TRANSFER_ENCODING: 'Transfer-Encoding is malformed',
  HPE_INVALID_CHUNK_SIZE: 'A chunk size is malformed',
  HPE_INVALID_METHOD: 'The method is not a valid token',
  HPE_INVALID_URL: 'The request target is malformed',
  HPE_INVALID_VERSION: 'The HTTP version is malformed',
  HPE_INVALID_HEADER_TOKEN: 'A header name or value holds characters HTTP does not allow',
  HPE_INVALID_CONSTANT: 'The request line is malformed',
  HPE_LF_EXPECTED: 'A line does not end in CRLF',
  HPE_CR_EXPECTED: 'A line does not end in CRLF',
  HPE_STRICT: 'The request breaks HTTP/1.1 framing',
};

function errorJson(code: string, message: string, requestId: string): { id: string; text: string } {
  return { id: requestId, text: JSON.stringify({ error: { code, message, request_id: requestId } }) };
}

/** Writes a whole HTTP/1.1 error response on a socket Node's parser no longer drives, and closes it. */
function writeRawError(socket: Duplex, answer: Rejection & { requestId: string; headers?: Record<string, string> }): void {
  const { text } = errorJson(answer.code, answer.message, answer.requestId);
  const headers = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'X-Request-Id': answer.requestId,
    Connection: 'close',
    ...answer.headers,
  };
  const head = `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
  socket.end(head + text);
  // The client may never close its side (it is stalled, or still sending); do not keep the socket for it.
  setTimeout(() => socket.destroy(), 1000).unref();
}

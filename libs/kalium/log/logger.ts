import { pino, type Logger } from 'pino';

export type { Logger };

const SECRET_HEADERS = ['authorization', 'cookie', 'set-cookie', 'x-api-key', 'proxy-authorization', 'webhook-signature'];
const SECRET_FIELDS = ['apiKey', 'adminToken', 'webhookSecret', 'password', 'body'];

/**
 * What the logger blanks wherever it turns up one or two levels down. kalium never logs headers or
 * bodies on purpose (the request log names the route, not the request); this catches the accident
 * of someone logging `{ req }` or a config object.
 */
const REDACTED = [
  ...SECRET_HEADERS.flatMap((name) => [`headers["${name}"]`, `*.headers["${name}"]`]),
  ...SECRET_FIELDS.flatMap((name) => [name, `*.${name}`]),
];

/**
 * The process logger: one JSON line per event on stdout. `pretty` (used by `kalium dev`) renders
 * lines for humans. Secrets and bodies are never passed to it; `redact` is the second fence.
 */
export function createLogger(options: { level: string; pretty?: boolean; name?: string }): Logger {
  return pino({
    level: options.level,
    name: options.name,
    base: { pid: process.pid },
    redact: { paths: REDACTED, censor: '[redacted]' },
    transport: options.pretty ? { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } : undefined,
  });
}

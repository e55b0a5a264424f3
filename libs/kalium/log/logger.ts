import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The process logger: one JSON line per event on stdout. `pretty` (used by `kalium dev`) renders
 * lines for humans. Secrets and bodies are never passed to it; `redact` is the second fence.
 */
export function createLogger(options: { level: string; pretty?: boolean; name?: string }): Logger {
  return pino({
    level: options.level,
    name: options.name,
    base: { pid: process.pid },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'],
      censor: '[redacted]',
    },
    transport: options.pretty ? { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } : undefined,
  });
}

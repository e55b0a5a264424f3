import type { Logger } from './logger.ts';

/** How often at most a part logs its Redis connection errors (they repeat at every reconnect attempt). */
const INTERVAL_MS = 5000;

/**
 * A logger of a part's connection errors: a warning at most every 5 s, so an outage reads as one line
 * every few seconds rather than several a second.
 */
export function connectionErrorLog(logger: Logger, message: string): (error: Error) => void {
  let last = 0;
  return (error) => {
    const now = Date.now();
    if (now - last < INTERVAL_MS) return;
    last = now;
    logger.warn({ err: error }, message);
  };
}

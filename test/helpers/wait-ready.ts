import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits until an api answers `GET /readyz` with 200: init has run and its Redis connection is up. An
 * api logs "api listening" before its first connection to Redis is made, and on a loaded machine a
 * request sent at once would find Redis unreachable (503, or a cache that degrades).
 */
export async function waitReady(baseUrl: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${baseUrl}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${baseUrl} was not ready within ${timeoutMs} ms`);
    await sleep(25);
  }
}

import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** An HTTP server running in a child process of the bench. */
export interface ChildServer {
  readonly name: string;
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Spawns `node <args>` listening on `port` and waits until `POST <probe.path>` answers `probe.status`
 * (the servers under test log nothing at LOG_LEVEL=warn, so readiness is asked over HTTP).
 */
export async function startChildServer(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  port: number,
  probe: { path: string; body: unknown; status: number },
): Promise<ChildServer> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited before it was ready: ${stderr}`);
    try {
      const response = await fetch(url + probe.path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(probe.body),
      });
      await response.arrayBuffer();
      if (response.status === probe.status) return { name, url, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} was not ready within 30 s: ${stderr}`);
    }
    await sleep(100);
  }
}

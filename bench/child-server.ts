import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** An HTTP server running in a child process of the bench. */
export interface ChildServer {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
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
      if (response.status === probe.status) return { name, url, pid: child.pid!, stop };
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

/**
 * CPU time (user + system, all threads) a process has used so far, in µs, from /proc (Linux; USER_HZ is
 * 100 there); undefined elsewhere. Unlike req/s, it hardly moves when other work shares the machine.
 */
export function cpuMicros(pid: number): number | undefined {
  const stat = procFile(pid, 'stat');
  if (stat === undefined) return undefined;
  // Fields after the parenthesised command name start at field 3; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** A process's resident set size in bytes, from `VmRSS` in /proc (Linux); undefined elsewhere. */
export function rssBytes(pid: number): number | undefined {
  const status = procFile(pid, 'status');
  if (status === undefined) return undefined;
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

/** `/proc/<pid>/<name>` (Linux), or undefined where there is none or the process is gone. */
function procFile(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

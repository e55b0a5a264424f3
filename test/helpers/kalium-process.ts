import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES } from '../../libs/kalium/config/config.ts';

export const CLI = fileURLToPath(new URL('../../apps/cli/kalium.mjs', import.meta.url));

/** A kalium api or worker running as a real child process. */
export interface KaliumProcess {
  readonly child: ChildProcess;
  /** The api's base URL (empty for a worker). */
  readonly url: string;
  /** Every log line so far, parsed (only those up to readiness with `discardLogsAfterReady`). */
  readonly logs: Array<Record<string, unknown>>;
  /** Everything it wrote to stderr. */
  stderr(): string;
  /** Resolves with the exit code (or signal) once it exits. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Resolves with the first log line matching. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
}

/** The environment with none of kalium's variables (the test says which it wants). */
export function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONFIG_VARIABLES) delete base[name];
  // Free ports for the api and the worker's metrics server, so test processes never collide.
  return { ...base, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', ...env };
}

/**
 * Spawns `kalium <role> <app>` and waits until it is up: `api listening` for the api, `worker ready`
 * for the worker (or whatever `readyLog` says).
 */
export async function startKalium(
  role: 'api' | 'worker' | 'dev',
  app: string,
  env: Record<string, string>,
  options: { readyLog?: string; timeoutMs?: number; cwd?: string; discardLogsAfterReady?: boolean; skipInitWait?: boolean } = {},
): Promise<KaliumProcess> {
  const child = spawn(process.execPath, [CLI, role, app], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
    // dev starts children of its own: a group of its own lets a SIGKILL take them all.
    detached: role === 'dev',
  });
  const signal = (name: NodeJS.Signals) => (role === 'dev' && name === 'SIGKILL' ? process.kill(-child.pid!, name) : child.kill(name));
  const logs: Array<Record<string, unknown>> = [];
  const listeners = new Set<(line: Record<string, unknown>) => void>();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      line = { msg: text };
    }
    logs.push(line);
    for (const listener of [...listeners]) listener(line);
  });
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'SIGKILL'));
  });
  // Generous: a cold start compiles the sources through tsx, which takes long on a loaded machine.
  const waitForLog: KaliumProcess['waitForLog'] = (match, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const found = logs.find(match);
      if (found) return resolve(found);
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`timed out waiting for a log line; stderr: ${stderr}; logs: ${JSON.stringify(logs.slice(-20))}`));
      }, timeoutMs);
      const listener = (line: Record<string, unknown>) => {
        if (!match(line)) return;
        clearTimeout(timer);
        listeners.delete(listener);
        resolve(line);
      };
      listeners.add(listener);
      void exited.then((code) => {
        if (!listeners.has(listener)) return;
        clearTimeout(timer);
        listeners.delete(listener);
        reject(new Error(`kalium ${role} exited (${code}) before it was ready; stderr: ${stderr}; logs: ${JSON.stringify(logs.slice(-20))}`));
      });
    });

  const readyMsg = options.readyLog ?? (role === 'worker' ? 'worker ready' : 'api listening');
  let ready: Record<string, unknown>;
  try {
    ready = await waitForLog((line) => line.msg === readyMsg, options.timeoutMs);
    if (role !== 'worker' && !options.skipInitWait) await waitForLog((line) => line.msg === 'init finished', options.timeoutMs);
  } catch (error) {
    // A process that never came up is not left running behind the failed test (or bench).
    if (child.exitCode === null && child.signalCode === null) signal('SIGKILL');
    throw error;
  }
  if (options.discardLogsAfterReady) {
    // Benches: the process still writes every line, but this process no longer parses them (a log
    // shipper's work is not the server's), and the pipe is drained so the child never blocks on it.
    lines.close();
    child.stdout!.resume();
  }
  return {
    child,
    url: typeof ready.url === 'string' ? ready.url : '',
    logs,
    stderr: () => stderr,
    exited,
    waitForLog,
    async kill(name = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) signal(name);
      return exited;
    },
  };
}

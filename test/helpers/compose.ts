import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI } from './kalium-process.ts';

// The compose files are read by compose-file.ts (no compose binary needed); this file runs their
// services' commands outside Docker.
export { ROOT, composeConfig, type ComposeConfig, type ComposeService } from './compose-file.ts';
import { ROOT } from './compose-file.ts';

/** A service's process started outside Docker, with its output parsed line by line. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly logs: Array<Record<string, unknown>>;
  output(): string;
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * Starts a compose service's command from the repository root (the image's WORKDIR) with exactly
 * the environment given. `kalium` is the image's symlink to apps/cli/kalium.mjs; `node` is this node.
 */
export function startServiceCommand(command: string[], env: Record<string, string>): ServiceProcess {
  const [program, ...args] = command;
  const argv = program === 'kalium' ? [CLI, ...args] : program === 'node' ? args : undefined;
  if (!argv) throw new Error(`no stand-in outside Docker for the command ${JSON.stringify(command)}`);
  const child = spawn(process.execPath, argv, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  let text = '';
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    text += `${line}\n`;
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ msg: line });
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    logs,
    output: () => text,
    async waitForLog(match, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = logs.find(match);
        if (found) return found;
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`${command.join(' ')}: no such log line (exit ${child.exitCode}); output:\n${text.slice(-4000)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Starts `kalium <role> <app>` as a child process with an IPC channel. The channel tells the child it
 * is supervised: it leaves Ctrl-C's SIGINT to this process (which sends it one SIGTERM) and shuts down
 * gracefully if this process dies, even by kill -9 (see exitOnSignals).
 * @param cli the `kalium` entry point (apps/cli/kalium.mjs), passed in: a lib does not import its apps.
 */
export function spawnKaliumChild(cli: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [cli, ...args], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env });
}

/** SIGTERM, then resolves once the child has exited (at once if it already has). */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}

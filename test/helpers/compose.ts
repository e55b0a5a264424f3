import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { parse as parseYaml } from 'yaml';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES } from '../../libs/kalium/config/config.ts';
import { CLI } from './kalium-process.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How to get the validator; also what .ci/run runs when it is missing. */
export const COMPOSE_INSTALL = 'apt-get install -y --no-install-recommends docker-compose';

/** The parts of a resolved compose service the tests read. */
export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | null>;
  ports?: Array<string | { target: number; published: number }>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: Array<string | { type: string; source: string; target: string }>;
  healthcheck?: { test: string[] };
  deploy?: { resources?: { reservations?: { devices?: Array<Record<string, unknown>> } } };
  profiles?: string[];
}

export interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}



/**
 * Runs `docker-compose <args>` in the repository root, with none of kalium's variables in its
 * environment but those `given`, so the file's own defaults are what gets resolved.
 * @throws Error saying how to install docker-compose when it is not on PATH.
 */
export function dockerCompose(args: string[], given: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [...CONFIG_VARIABLES, 'REDIS_MAXMEMORY']) delete env[name];
  Object.assign(env, given);
  return new Promise((resolve, reject) => {
    execFile('docker-compose', args, { cwd: ROOT, env, maxBuffer: 10 * 1024 * 1024 }, (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        reject(new Error(`docker-compose is not installed, and it validates docker-compose.yml. Install it with: ${COMPOSE_INSTALL}`));
      } else if (error) {
        reject(new Error(`docker-compose ${args.join(' ')} failed: ${stderr || error.message}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

/** The compose file(s) as docker-compose resolves them (anchors merged, variables substituted). */
export async function composeConfig(files: string[] = ['docker-compose.yml'], env: Record<string, string> = {}): Promise<ComposeConfig> {
  const { stdout } = await dockerCompose([...files.flatMap((file) => ['-f', file]), 'config'], env);
  return parseYaml(stdout) as ComposeConfig;
}

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

import { spawn } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the command's standard input, then closed. */
  input?: string | Buffer;
  /** Passed through to this process's output, for the long builds (so a stuck one shows where). */
  echo?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a program to its end and gives its output and exit code; never throws for a non-zero exit. */
export function run(program: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const stdin = options.input === undefined ? 'ignore' : 'pipe';
    const child = spawn(program, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: [stdin, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (options.echo) process.stdout.write(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (options.echo) process.stderr.write(chunk);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ stdout, stderr, code: code ?? (signal ? 128 : 1) }));
    if (child.stdin) {
      child.stdin.on('error', () => {}); // a program that exits without reading its input
      child.stdin.end(options.input);
    }
  });
}

/** As run, but a non-zero exit is an error carrying the command and the end of its output. */
export async function must(program: string, args: string[], options: RunOptions = {}): Promise<string> {
  const result = await run(program, args, options);
  if (result.code !== 0) {
    const output = `${result.stdout}\n${result.stderr}`.trim().slice(-3000);
    throw new Error(`${program} ${args.join(' ')} exited ${result.code}:\n${output}`);
  }
  return result.stdout;
}

/** Seconds since `start` (a performance.now() reading), to one decimal. */
export const secondsSince = (start: number): number => Math.round((performance.now() - start) / 100) / 10;

/** Polls `probe` until it gives a value, or throws naming `what` after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

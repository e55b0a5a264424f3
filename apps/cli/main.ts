const USAGE = `usage: kalium <command> <app>

commands:
  dev <app>                      api + worker (+ a local redis-server when none is configured or reachable)
  api <app>                      the HTTP api process
  worker <app> [--devices 0,1]   the GPU worker process (concurrency 1); with --devices (or KALIUM_DEVICES),
                                 one supervised worker process per GPU
  init [dir]                     write a new kalium project into dir (default: the current directory)
  python-path                    print the directory of kalium's Python package (import kalium / potassium),
                                 for PYTHONPATH="$(npx kalium python-path)" python3 app.py

<app> is a .ts, .mts, .js or .mjs file whose default export is a Kalium app, or a .py file with a
Potassium app (a potassium 0.0.9 app runs unchanged).
Configuration comes from the environment: see the README.`;

/** `kalium dev|api|worker <app> [--pretty] [--devices ids]`, `kalium init [dir]` */
export async function main(argv: string[]): Promise<void> {
  // Supervised (kalium dev, --devices): a parent that dies while this process is still starting must
  // not leave it running on its own; once started, exitOnSignals makes the parent's going graceful.
  if (process.connected) process.once('disconnect', () => process.exit(1));
  const { args, pretty, devices } = parseFlags(argv);
  const [command, target, ...rest] = args;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    process.exit(command ? 0 : 2);
  }
  if (command === 'init' && rest.length === 0) return (await import('./init.ts')).init(target ?? '.');
  if (command === 'python-path' && !target) {
    process.stdout.write(`${(await import('../../libs/kalium/python/python-child.ts')).PYTHON_PACKAGE_DIR}\n`);
    return;
  }
  const takesDevices = command === 'worker' || devices === undefined;
  if (!target || rest.length > 0 || !['dev', 'api', 'worker'].includes(command) || !takesDevices) usage();
  if (command === 'api') return (await import('../api/main.ts')).main(target, { pretty });
  if (command === 'worker') return (await import('../worker/main.ts')).main(target, { pretty, devices });
  return (await import('./dev.ts')).dev(target);
}

function parseFlags(argv: string[]): { args: string[]; pretty: boolean; devices: string | undefined } {
  const args: string[] = [];
  let pretty = false;
  let devices: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--pretty') pretty = true;
    else if (arg === '--devices') devices = argv[++i] ?? usage();
    else if (arg.startsWith('--devices=')) devices = arg.slice('--devices='.length);
    else if (arg.startsWith('--')) usage();
    else args.push(arg);
  }
  return { args, pretty, devices };
}

function usage(): never {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

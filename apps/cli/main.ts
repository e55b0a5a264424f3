const USAGE = `usage: kalium <command> <app>

commands:
  dev <app>     api + worker (+ a local redis-server when none is configured or reachable), pretty logs
  api <app>     the HTTP api process
  worker <app>  the GPU worker process (concurrency 1)

<app> is a .ts, .js or .mjs file whose default export is a Kalium app.
Configuration comes from the environment: see the README.`;

/** `kalium dev|api|worker <app> [--pretty]` */
export async function main(argv: string[]): Promise<void> {
  const pretty = argv.includes('--pretty');
  const [command, appFile, ...rest] = argv.filter((arg) => arg !== '--pretty');
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    process.exit(command ? 0 : 2);
  }
  if (!appFile || rest.length > 0 || !['dev', 'api', 'worker'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  if (command === 'api') return (await import('../api/main.ts')).main(appFile, { pretty });
  if (command === 'worker') return (await import('../worker/main.ts')).main(appFile, { pretty });
  return (await import('./dev.ts')).dev(appFile);
}

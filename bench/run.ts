// `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) and prints each
// figure as a ratio from one run. Machines are noisy; no figure here gates a test.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Bench, Figure } from './figure.ts';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => wanted.length === 0 || wanted.some((name) => file.startsWith(name)))
  .sort();

const figures: Figure[] = [];
for (const file of files) {
  process.stderr.write(`bench: ${file}\n`);
  const bench = (await import(new URL(file, import.meta.url).href)) as { default: Bench };
  for (const figure of await bench.default()) {
    figures.push(figure);
    const ratio = figure.ratio === undefined ? '' : `${figure.ratio.toFixed(2)}x`;
    const target = figure.target ? ` (SPEC ${figure.target})` : '';
    process.stdout.write(`${figure.name}: ${ratio}${target}\n  ${figure.detail}\n`);
  }
}
if (figures.length === 0) process.stdout.write('no benchmarks matched\n');
process.exit(0);

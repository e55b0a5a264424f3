import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { loadAppModule, type Kalium } from '../app/kalium.ts';

/** Imports the app file a CLI command names (`.ts`, `.js` or `.mjs`, relative to the working directory). */
export async function loadAppFile(file: string): Promise<Kalium> {
  const path = resolve(file);
  if (!/\.(ts|mts|js|mjs)$/.test(path)) throw new Error(`The app must be a .ts, .js or .mjs file, got ${file}`);
  if (!existsSync(path)) throw new Error(`No app file at ${path}`);
  return loadAppModule(pathToFileURL(path).href);
}

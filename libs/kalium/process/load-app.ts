import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { loadAppModule, type Kalium } from '../app/kalium.ts';

/** Imports the app file a CLI command names (`.ts`, `.js` or `.mjs`, relative to the working directory). */
export async function loadAppFile(file: string): Promise<Kalium> {
  const path = resolve(file);
  if (!/\.(ts|mts|js|mjs)$/.test(path)) throw new Error(`The app must be a .ts, .js or .mjs file, got ${file}`);
  if (!existsSync(path)) throw new Error(`No app file at ${path}`);
  try {
    return await loadAppModule(pathToFileURL(path).href);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_REQUIRE_CYCLE_MODULE' || code === 'ERR_REQUIRE_ESM') {
      throw new Error(
        `${file} was loaded as CommonJS, but kalium apps are ES modules: name it .mts (or .mjs), or set "type": "module" in its package.json`,
        { cause: error },
      );
    }
    throw error;
  }
}

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { loadAppModule, type Kalium } from '../app/kalium.ts';
import type { Logger } from '../log/logger.ts';
import { loadPythonApp } from '../python/python-app.ts';

export interface LoadAppOptions {
  /** The interpreter for a `.py` app (config `python`, from KALIUM_PYTHON). @defaultValue 'python3' */
  python?: string;
  /** Where a `.py` app's model process logs (its prints, `logging`, restarts). Required for `.py` apps. */
  logger?: Logger;
}

/**
 * Imports the app file a CLI command names (`.ts`, `.mts`, `.js`, `.mjs`, relative to the working
 * directory), or, for a `.py` file, starts its Python model process and builds the app from the
 * routes it reports (SPEC §15).
 */
export async function loadAppFile(file: string, options: LoadAppOptions = {}): Promise<Kalium> {
  const path = resolve(file);
  if (!/\.(ts|mts|js|mjs|py)$/.test(path)) throw new Error(`The app must be a .ts, .mts, .js, .mjs or .py file, got ${file}`);
  if (!existsSync(path)) throw new Error(`No app file at ${path}`);
  if (path.endsWith('.py')) {
    if (!options.logger) throw new Error('a .py app needs a logger for its model process');
    return loadPythonApp(path, { python: options.python ?? 'python3', logger: options.logger });
  }
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

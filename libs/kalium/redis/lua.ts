import { readFileSync } from 'node:fs';

/** Reads a Lua script that lives beside the module asking for it. */
export function readLua(moduleUrl: string, file: string): string {
  return readFileSync(new URL(file, moduleUrl), 'utf8');
}

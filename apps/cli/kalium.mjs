#!/usr/bin/env node
// The `kalium` command. tsx runs app files written in TypeScript with no build step. Installed,
// kalium itself runs compiled (dist/apps/cli/main.js); in its own repository it runs from source,
// where a resolve hook (source-resolve.mjs) points the app's `import 'kalium'` at the same sources as
// the runtime (one copy of every class, so `instanceof` holds).
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
const fromSource = existsSync(new URL('./main.ts', import.meta.url));
if (fromSource) register('./source-resolve.mjs', import.meta.url);
const { main } = await import(fromSource ? './main.ts' : './main.js');
await main(process.argv.slice(2));

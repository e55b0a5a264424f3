#!/usr/bin/env node
// The `kalium` command. Registers the TypeScript loader so app files and kalium itself load as .ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
await main(process.argv.slice(2));

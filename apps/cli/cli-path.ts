import { fileURLToPath } from 'node:url';

/** The `kalium` entry point, for the commands that start kalium processes of their own. */
export const CLI = fileURLToPath(new URL('./kalium.mjs', import.meta.url));

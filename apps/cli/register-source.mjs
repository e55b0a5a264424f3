// `node --import ./apps/cli/register-source.mjs …`: kalium's own tests and benches reach its sources
// when they import 'kalium' (see source-resolve.mjs).
import { register } from 'node:module';

register('./source-resolve.mjs', import.meta.url);

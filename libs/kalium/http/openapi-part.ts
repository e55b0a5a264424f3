import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Context } from 'koa';
import { errors } from '../errors/kalium-error.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { DOCS_INIT_SCRIPT, docsPage } from './docs-page.ts';
import { openApiDocument } from './openapi-document.ts';
import type { ApiPart } from './server.ts';

/** The files of swagger-ui-dist the page loads, by the name it asks for them under /docs/. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/**
 * The page may load only what this api serves: Swagger UI would otherwise fetch nothing from
 * elsewhere, and this makes sure of it (a future version's validator badge, fonts, …).
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/**
 * `GET /openapi.json` (the app's OpenAPI 3.1 document) and `GET /docs`, an API reference page
 * where routes can be read and tried: Swagger UI, served from its npm package (swagger-ui-dist), not a
 * CDN. Both are behind `API_KEY` like every route (the key part runs before the router); `OPENAPI=false`
 * leaves them out.
 */
export function openApiPart(runtime: Runtime): ApiPart {
  if (!runtime.config.openApi) return {};
  let document: string | undefined;
  const assets = new Map<string, Promise<Buffer>>();
  return {
    routes(router) {
      router.get('/openapi.json', (ctx) => {
        // Routes are fixed once the app module has loaded, so the document is built once.
        document ??= JSON.stringify(openApiDocument(runtime.app.routes, { title: runtime.app.name, bearer: runtime.config.apiKey !== undefined }));
        ctx.type = 'application/json';
        ctx.body = document;
      });
      router.get('/docs', (ctx) => {
        ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = docsPage(runtime.app.name);
      });
      // One route for the page's files: every route is a regular expression the router tries on every request.
      router.get('/docs/:file', async (ctx: Context) => {
        const name = String(ctx.params.file);
        if (name === 'init.js') {
          ctx.type = 'text/javascript; charset=utf-8';
          ctx.body = DOCS_INIT_SCRIPT;
          return;
        }
        const type = ASSETS[name];
        if (type === undefined) throw errors.notFound(ctx.path);
        let bytes = assets.get(name);
        if (!bytes) {
          bytes = readFile(join(swaggerUiDir(), name));
          assets.set(name, bytes);
          bytes.catch(() => assets.delete(name));
        }
        ctx.type = type;
        ctx.set('Cache-Control', 'public, max-age=86400');
        ctx.body = await bytes;
      });
    },
  };
}

let dir: string | undefined;
function swaggerUiDir(): string {
  dir ??= dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  return dir;
}

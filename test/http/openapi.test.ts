// SPEC §13: GET /openapi.json describes every user route (kind, gpu, schemas, the answers it can give)
// and the /jobs routes; /docs serves the reference page from the swagger-ui-dist package. Both honour
// API_KEY and OPENAPI=false.
import test from 'ava';
import { Ajv2020 } from 'ajv/dist/2020.js';
import schemaApp from '../fixtures/apps/schema-app.ts';
import { loadAppFile } from '../../libs/kalium/process/load-app.ts';
import { startInProcessApi } from '../helpers/in-process-api.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { toJobBody } from '../../libs/kalium/queue/job-body.ts';

let redis: RedisServer;
// Loaded as the CLI loads it: a plain import would run the example's `app.serve()`.
const example = await loadAppFile('apps/example/app.ts');
test.before(async () => {
  redis = await startRedis();
});
test.after.always(() => redis?.stop());

type Doc = { openapi: string; paths: Record<string, Record<string, any>>; components: any; security?: unknown };

async function documentOf(t: { teardown(fn: () => Promise<void>): void }, app: typeof example | typeof schemaApp, env: Record<string, string> = {}) {
  const api = await startInProcessApi(app, { REDIS_URL: redis.url, ...env });
  t.teardown(() => api.close());
  const response = await fetch(`${api.url}/openapi.json`, { headers: env.API_KEY ? { authorization: `Bearer ${env.API_KEY}` } : {} });
  return { api, response, doc: (response.status === 200 ? await response.json() : undefined) as Doc };
}

test('every route of the example is in an OpenAPI 3.1 document, with its kind, gpu flag and schemas', async (t) => {
  const { response, doc } = await documentOf(t, example);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /application\/json/);
  t.is(doc.openapi, '3.1.0');
  t.deepEqual(Object.keys(doc.paths).sort(), ['/', '/background', '/jobs/{id}', '/jobs/{id}/events', '/result']);

  const sync = doc.paths['/']!.post;
  t.is(sync['x-kalium-kind'], 'handler');
  t.is(sync['x-kalium-gpu'], true);
  t.is(sync.summary, 'Sentiment and entities of one text');
  t.deepEqual(sync.requestBody.content['application/json'].schema.required, ['text']);
  t.is(sync.requestBody.content['application/json'].schema.properties.text.maxLength, 10_000);
  t.deepEqual(sync.responses['200'].content['application/json'].schema.properties.label.enum, ['positive', 'negative', 'neutral']);
  for (const status of ['400', '413', '422', '423', '500', '503', '504']) t.truthy(sync.responses[status], `POST / documents ${status}`);

  const result = doc.paths['/result']!.post;
  t.is(result['x-kalium-gpu'], false);
  t.falsy(result.responses['423'], 'a gpu=false route is never gpu_busy');

  const background = doc.paths['/background']!.post;
  t.is(background['x-kalium-kind'], 'background');
  t.is(background.responses['202'].content['application/json'].schema.$ref, '#/components/schemas/JobAccepted');
  t.is(background.requestBody.content['application/json'].schema.properties.texts.maxItems, 100);
  t.truthy(background['x-kalium-result'].properties.results);
  t.truthy(background.responses['503']);
  t.deepEqual(Object.keys(doc.paths['/jobs/{id}']!).sort(), ['delete', 'get']);
  t.truthy(doc.paths['/jobs/{id}/events']!.get.responses['200'].content['text/event-stream']);
  t.deepEqual(doc.components.schemas.JobAccepted.required, ['success', 'started', 'id', 'status', 'status_url']);
});

test('the schemas in the document are valid JSON Schema 2020-12, and match what the api accepts', async (t) => {
  const { api, doc } = await documentOf(t, schemaApp);
  const ajv = new Ajv2020({ strict: false });
  ajv.addSchema({ $id: 'components', $defs: doc.components.schemas });
  const requestSchema = doc.paths['/zod']!.post.requestBody.content['application/json'].schema;
  const check = ajv.compile(requestSchema);
  for (const body of [{ texts: ['a'] }, { texts: [] }, { texts: [''] }, { texts: ['a'], lang: 'fr' }]) {
    const answer = await fetch(`${api.url}/zod`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    t.is(check(body), answer.status === 200, `the document and the api agree on ${JSON.stringify(body)}`);
  }
  // A route without schemas is still there, with an open body and its answers.
  const plain = doc.paths['/whatwg']!.post;
  t.deepEqual(plain.requestBody.content['application/json'].schema, {});
  t.false(plain.requestBody.required);
  t.truthy(plain.responses['500']);
  t.falsy(plain.responses['422'], 'no input schema, no 422');
  t.is(doc.paths['/zod']!.post.responses['422'].content['application/json'].schema.$ref, '#/components/schemas/Error');
});

test('with API_KEY, /openapi.json and /docs need the bearer token, and the document says so', async (t) => {
  const { api, response, doc } = await documentOf(t, example, { API_KEY: 'docs-key' });
  t.is(response.status, 200);
  t.deepEqual(doc.security, [{ bearer: [] }]);
  t.is(doc.components.securitySchemes.bearer.scheme, 'bearer');
  t.truthy(doc.paths['/']!.post.responses['401']);
  for (const path of ['/openapi.json', '/docs', '/docs/swagger-ui-bundle.js']) {
    t.is((await fetch(`${api.url}${path}`)).status, 401, `${path} without the key`);
    t.is((await fetch(`${api.url}${path}`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    t.is((await fetch(`${api.url}${path}`, { headers: { authorization: 'Bearer docs-key' } })).status, 200, `${path} with the key`);
  }
});

test('/docs is Swagger UI served from its npm package, loading nothing from elsewhere', async (t) => {
  const { api } = await documentOf(t, example);
  const page = await fetch(`${api.url}/docs`);
  t.is(page.status, 200);
  t.regex(page.headers.get('content-type') ?? '', /text\/html/);
  t.regex(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  const html = await page.text();
  const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  t.true(urls.length >= 3);
  for (const url of urls) t.true(url.startsWith('/docs/'), `${url} is served by the api`);
  for (const url of urls) t.is((await fetch(`${api.url}${url}`)).status, 200, url);
  const bundle = await fetch(`${api.url}/docs/swagger-ui-bundle.js`);
  t.regex(bundle.headers.get('content-type') ?? '', /javascript/);
  t.true(Number((await bundle.arrayBuffer()).byteLength) > 100_000);
  t.is((await fetch(`${api.url}/docs/package.json`)).status, 404, 'only the page’s own files are served');
  t.is((await fetch(`${api.url}/docs/..%2Fpackage.json`)).status, 404);
});

test('OPENAPI=false leaves /openapi.json and /docs out', async (t) => {
  const { api, response } = await documentOf(t, example, { OPENAPI: 'false' });
  t.is(response.status, 404);
  t.is((await fetch(`${api.url}/docs`)).status, 404);
  t.is((await fetch(`${api.url}/healthz`)).status, 200);
});

test('job bodies as kalium builds them (failed, succeeded, canceled at a deadline) match the document’s Job schema', async (t) => {
  const { doc } = await documentOf(t, example);
  const ajv = new Ajv2020({ strict: false });
  ajv.addSchema({ $id: 'components', $defs: doc.components.schemas });
  const check = ajv.compile({ $ref: 'components#/$defs/Job' });
  const T0 = Date.parse('2030-01-01T00:00:00.000Z');
  const job = { name: '/background', timestamp: T0, processedOn: T0 + 10, finishedOn: T0 + 20, progress: 40, attemptsStarted: 1, failedReason: undefined, workerLosses: 0, errorCode: undefined };
  const base = { id: '00000000-0000-4000-8000-000000000000', job, canceled: undefined, result: { found: false, value: null } } as const;
  const bodies = [
    toJobBody({ ...base, state: 'failed', job: { ...job, failedReason: 'the model ran out of memory' } }, 3_600_000, T0 + 30),
    toJobBody({ ...base, state: 'completed', result: { found: true, value: { results: [] } } }, 3_600_000, T0 + 30),
    toJobBody({ ...base, state: 'failed', canceled: { canceledAt: T0 + 50, route: '/background', createdAt: T0, startedAt: T0 + 10, attempts: 1, progress: 40, bodyHash: '', code: 'deadline_exceeded', message: 'past its Cancel-After' } }, 3_600_000, T0 + 60),
  ];
  for (const body of bodies) {
    t.truthy(body);
    t.true(check({ ...body, webhook: null }), `${body?.status}: ${JSON.stringify(check.errors)}`);
  }
});

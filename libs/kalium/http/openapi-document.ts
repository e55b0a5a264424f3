import type { BackgroundRoute, HandlerRoute, Route } from '../app/routes.ts';
import { toJsonSchema } from '../schema/json-schema.ts';
import { MAX_WAIT_SECONDS } from './job-routes.ts';

type Json = Record<string, unknown>;

/** What the document says about the api besides its routes. */
export interface OpenApiSettings {
  /** The app's name: the document's title. */
  title: string;
  /** Whether `API_KEY` is set: every operation then asks for a bearer token. */
  bearer: boolean;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: Json) => ({ 'application/json': { schema } });
const error = (description: string) => ({ description, content: jsonContent(ref('Error')) });

/**
 * The OpenAPI 3.1 document of an app: each user route with its kind, gpu flag, request and response
 * schemas (from its `input` and `output` Standard Schemas, where the library converts them to JSON
 * Schema), the answers it can give, and the `/jobs` routes its background jobs are read through.
 */
export function openApiDocument(routes: readonly Route[], settings: OpenApiSettings): Json {
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const item: Json = (paths[route.path] ??= {});
    if (route.kind === 'handler') {
      for (const method of route.methods) item[method.toLowerCase()] = handlerOperation(route, method, settings);
    } else {
      item.post = backgroundOperation(route, settings);
    }
  }
  Object.assign(paths, jobPaths(settings));
  const document: Json = {
    openapi: '3.1.0',
    info: {
      title: settings.title,
      version: '1.0.0',
      description:
        'Served by kalium. Handler routes answer while the caller waits; background routes answer 202 with a job id, ' +
        'read at /jobs/{id}. Every error is `{"error": {"code", "message", "request_id"}}`.',
    },
    paths,
    components: { schemas: COMPONENT_SCHEMAS, ...(settings.bearer ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : {}) },
  };
  if (settings.bearer) document.security = [{ bearer: [] }];
  return document;
}

function handlerOperation(route: HandlerRoute, method: string, settings: OpenApiSettings): Json {
  const responses: Json = {
    200: { description: 'The handler’s answer.', content: jsonContent(toJsonSchema(route.output, 'output') ?? {}) },
    ...inputErrors(route),
    ...(route.gpu ? { 423: { ...error('The GPU is held by another request (`gpu_busy`); retry after `Retry-After`.'), headers: retryAfter } } : {}),
    500: error('The handler failed (`handler_error`) or answered with something kalium cannot send.'),
    503: error('The app is still loading its model (`initializing`), or Redis is unavailable (`backend_unavailable`).'),
    ...(route.timeoutMs !== undefined ? { 504: error(`The handler did not answer within ${route.timeoutMs} ms (\`timeout\`).`) } : {}),
    ...authErrors(settings),
  };
  return {
    operationId: operationId(method, route.path),
    summary: route.summary ?? `${route.path} (handler${route.gpu ? ', gpu' : ''})`,
    tags: ['handlers'],
    'x-kalium-kind': 'handler',
    'x-kalium-gpu': route.gpu,
    ...(method === 'GET' || method === 'DELETE' ? {} : { requestBody: requestBody(route) }),
    responses,
  };
}

function backgroundOperation(route: BackgroundRoute, settings: OpenApiSettings): Json {
  const result = toJsonSchema(route.output, 'output');
  return {
    operationId: operationId('POST', route.path),
    summary: route.summary ?? `${route.path} (background${route.gpu ? ', gpu' : ''})`,
    description: 'Queues a job and answers at once; its result is read at `/jobs/{id}` (wait, events, cancel).',
    tags: ['background'],
    'x-kalium-kind': 'background',
    'x-kalium-gpu': route.gpu,
    ...(route.batch ? { 'x-kalium-batch': route.batch } : {}),
    ...(result ? { 'x-kalium-result': result } : {}),
    parameters: [
      { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', minLength: 1, maxLength: 255 }, description: 'The same key gives the same job.' },
      { name: 'X-Webhook-Url', in: 'header', required: false, schema: { type: 'string', format: 'uri' }, description: 'Where the job’s events are delivered, signed.' },
      ...policyHeaders(route),
    ],
    requestBody: requestBody(route),
    responses: {
      202: { description: 'Queued.', content: jsonContent(ref('JobAccepted')), headers: { Location: { schema: { type: 'string' } } } },
      200: { description: 'This Idempotency-Key made this job before.', content: jsonContent(ref('JobAccepted')) },
      ...inputErrors(route),
      503: { ...error('The queue is full (`queue_full`) or Redis is unavailable (`backend_unavailable`).'), headers: retryAfter },
      ...authErrors(settings),
    },
  };
}

/** SPEC §14's headers of a background request; a bad value is a 400 `invalid_header` naming it. */
function policyHeaders(route: Route): Json[] {
  const policy = route.kind === 'background' ? route.policy : undefined;
  const defaults = [policy?.deadlineMs && `default: the route’s deadlineMs, ${policy.deadlineMs} ms`, policy?.maxQueueMs && `the route cancels a job queued over ${policy.maxQueueMs} ms`].filter(Boolean);
  return [
    {
      name: 'Cancel-After',
      in: 'header',
      required: false,
      schema: { type: 'string', pattern: '^[0-9]+(ms|s|m|h)$', examples: ['30s', '5m', '1h'] },
      description: `A job not finished this long after it was accepted ends \`canceled\` with error_code \`deadline_exceeded\` (at most 24h)${defaults.length > 0 ? `; ${defaults.join('; ')}` : ''}. Bad values: 400 \`invalid_header\`.`,
    },
    {
      name: 'X-Priority',
      in: 'header',
      required: false,
      schema: { enum: ['high', 'normal', 'low'], default: 'normal' },
      description: 'Queued jobs run high before normal before low, first in first out within a level. Bad values: 400 `invalid_header`.',
    },
  ];
}

function requestBody(route: Route): Json {
  return { required: route.input !== undefined, content: jsonContent(toJsonSchema(route.input, 'input') ?? {}) };
}

function inputErrors(route: Route): Json {
  return {
    400: error('The body is not valid JSON (`invalid_json`).'),
    413: error('The body is over `BODY_LIMIT` (`payload_too_large`).'),
    ...(route.input || route.kind === 'background'
      ? { 422: error(route.input ? 'The body does not match the input schema (`invalid_input`, with `issues`).' : 'The Idempotency-Key was used with another body.') }
      : {}),
  };
}

function authErrors(settings: OpenApiSettings): Json {
  return settings.bearer ? { 401: error('The bearer token is missing or wrong (`unauthorized`).') } : {};
}

const retryAfter = { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before retrying.' } };

function operationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return method.toLowerCase() + (words.length ? words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('') : 'Root');
}

function jobPaths(settings: OpenApiSettings): Record<string, Json> {
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
  const notFound = { 400: error('Not a job id (`invalid_job_id`).'), 404: error('No such job, or it expired (`job_not_found`).'), ...authErrors(settings) };
  return {
    '/jobs/{id}': {
      get: {
        operationId: 'getJob',
        summary: 'A job’s status and result',
        tags: ['jobs'],
        parameters: [id, { name: 'wait', in: 'query', required: false, schema: { type: 'number', minimum: 0, maximum: MAX_WAIT_SECONDS }, description: 'Hold the answer up to this many seconds, until the job ends.' }],
        responses: { 200: { description: 'The job.', content: jsonContent(ref('Job')) }, ...notFound },
      },
      delete: {
        operationId: 'cancelJob',
        summary: 'Cancel a job',
        tags: ['jobs'],
        parameters: [id],
        responses: { 200: { description: 'Canceled; the job as it is now.', content: jsonContent(ref('Job')) }, 409: error('The job had already ended (`job_finished`).'), ...notFound },
      },
    },
    '/jobs/{id}/events': {
      get: {
        operationId: 'jobEvents',
        summary: 'A job’s events (Server-Sent Events): progress, a streaming job’s output chunks ({index, chunk}, all from the first; a rerun’s with its attempt), then succeeded, failed or canceled',
        tags: ['jobs'],
        parameters: [id],
        responses: { 200: { description: 'An event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...notFound },
      },
    },
  };
}

const COMPONENT_SCHEMAS: Json = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message', 'request_id'],
        properties: {
          code: { type: 'string' },
          message: { type: 'string' },
          request_id: { type: 'string' },
          issues: { type: 'array', items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
    },
  },
  JobAccepted: {
    type: 'object',
    required: ['success', 'started', 'id', 'status', 'status_url'],
    properties: {
      success: { const: true },
      started: { const: true },
      id: { type: 'string', format: 'uuid' },
      status: { const: 'queued' },
      status_url: { type: 'string' },
    },
  },
  Job: {
    type: 'object',
    required: ['id', 'route', 'status'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      route: { type: 'string' },
      status: { enum: ['queued', 'running', 'succeeded', 'failed', 'canceled'] },
      progress: { type: 'number', minimum: 0, maximum: 100 },
      result: { description: 'What the background handler returned (see the route’s x-kalium-result).' },
      error: { type: ['string', 'null'], description: 'Why it failed or was canceled at its deadline, for humans; the stable code is error_code.' },
      error_code: { enum: ['worker_lost', 'handler_error', 'deadline_exceeded', null], description: '`deadline_exceeded`: canceled at its Cancel-After or route deadline.' },
      output: { type: 'array', description: 'A streaming (async generator) job’s chunks so far; absent when it has streamed nothing.' },
      attempts: { type: 'integer' },
      created_at: { type: ['string', 'null'] },
      started_at: { type: ['string', 'null'] },
      finished_at: { type: ['string', 'null'] },
      webhook: {},
    },
  },
};

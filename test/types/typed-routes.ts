// Type tests (SPEC §13), checked by `tsc --noEmit` (npm test's pretest), never run: every line must
// compile except those under `// @ts-expect-error`, which must not (tsc fails on an unused one).
import { z } from 'zod';
import * as v from 'valibot';
import { Kalium, Response, type BackgroundOptions, type HandlerOptions } from 'kalium';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T>(_value: T): void {}
const is = <A, B>(_proof: Equal<A, B>) => undefined;

interface Model {
  predict(text: string): number;
}
const model: Model = { predict: (text) => text.length };

// init gives the app its context's type with no type argument written.
const app = new Kalium('typed').init(async () => ({ model }));

// Options are optional: a gpu handler answering POST, with the typed context.
app.handler('/', (context, request) => {
  is<typeof context, { model: Model }>(true);
  return { n: context.model.predict(String(request.json?.text)) };
});
app.handler('/gpu', { gpu: true, timeoutMs: 100 }, (context) => context.model.predict('x'));
app.handler('/no-gpu-key', { timeoutMs: 100 }, (context) => context.model.predict('x'));

// gpu: false → the context is undefined, in every form the options take.
app.handler('/cpu', { gpu: false }, (context) => {
  is<typeof context, undefined>(true);
  // @ts-expect-error the context of a gpu=false route is undefined
  return context.model;
});
const cpuOptions = { gpu: false } as const;
app.handler('/cpu-const', cpuOptions, (context) => is<typeof context, undefined>(true));
app.background('/cpu-bg', { gpu: false }, (context) => is<typeof context, undefined>(true));
app.background('/cpu-batch', { gpu: false, batch: { maxSize: 4, maxWaitMs: 5 } }, (context, requests) => {
  is<typeof context, undefined>(true);
  return requests.map(() => 1);
});
// @ts-expect-error a gpu=false batch route's context is undefined (the worker passes undefined)
app.background('/cpu-batch-model', { gpu: false, batch: { maxSize: 4, maxWaitMs: 5 } }, (context, requests) => requests.map(() => context.model));

// A gpu flag known only as a boolean: the context may be either.
declare const onGpu: boolean;
app.handler('/maybe', { gpu: onGpu }, (context) => is<typeof context, { model: Model } | undefined>(true));
declare const handlerOptions: HandlerOptions;
app.handler('/maybe-typed', handlerOptions, (context) => is<typeof context, { model: Model } | undefined>(true));
// (Whether `batch` is set decides the handler's shape, so a background options variable says which it is.)
declare const backgroundOptions: Omit<BackgroundOptions, 'batch'>;
app.background('/maybe-bg', backgroundOptions, (context) => is<typeof context, { model: Model } | undefined>(true));
app.background('/maybe-batch', { gpu: onGpu, batch: { maxSize: 2, maxWaitMs: 1 } }, (context, requests) => {
  is<typeof context, { model: Model } | undefined>(true);
  return requests.map(() => null);
});

// Batch routes get arrays; plain background routes do not.
app.background('/batch', { batch: { maxSize: 8, maxWaitMs: 5 } }, (context, requests, jobs) => {
  expectType<{ model: Model }>(context);
  expectType<unknown[]>(requests);
  expectType<unknown[]>(jobs);
  return requests.map((request) => context.model.predict(String(request.json)));
});
// @ts-expect-error a batch handler returns an array, one result per request
app.background('/batch-scalar', { batch: { maxSize: 8, maxWaitMs: 5 } }, () => 1);

// Method names are literals.
app.handler('/get', { methods: ['GET', 'delete'], gpu: false }, () => 'ok');
// @ts-expect-error GTE is no HTTP method
app.handler('/typo', { methods: ['GTE'] }, () => 'ok');

// request.json is typed from the input schema (zod and valibot alike, through Standard Schema).
app.handler('/zod', { gpu: false, input: z.object({ texts: z.array(z.string()), n: z.number().default(1) }) }, (_context, request) => {
  is<typeof request.json, { texts: string[]; n: number }>(true);
  // @ts-expect-error texts are strings
  request.json.texts[0]?.toFixed();
  return request.json.texts.length;
});
app.background('/valibot', { input: v.object({ id: v.string() }) }, (_context, request) => {
  is<typeof request.json, { id: string }>(true);
  return request.json.id;
});
app.background('/valibot-batch', { input: v.object({ id: v.string() }), batch: { maxSize: 2, maxWaitMs: 1 } }, (_context, requests) =>
  requests.map((request) => request.json.id.toUpperCase()),
);
// Without a schema request.json stays `any`, as potassium apps read it.
app.handler('/untyped', (_context, request) => is<typeof request.json, any>(true));

// An output schema types what the handler may answer with; a Response is always allowed.
app.handler('/out', { gpu: false, output: z.object({ label: z.string() }) }, () => ({ label: 'ok' }));
app.handler('/out-response', { gpu: false, output: z.object({ label: z.string() }) }, () => new Response({ status: 204 }));
app.handler('/out-whatwg', { gpu: false, output: z.object({ label: z.string() }) }, () => new globalThis.Response('hi', { status: 201 }));
// @ts-expect-error the answer does not match the output schema
app.handler('/out-wrong', { gpu: false, output: z.object({ label: z.string() }) }, () => ({ label: 1 }));

// The older form still compiles: the context declared up front, then init.
const older = new Kalium<{ pid: number }>('older');
older.init(() => ({ pid: process.pid }));
older.handler('/', { gpu: true }, (context) => context.pid);
older.handler('/cpu', { gpu: false }, (context) => is<typeof context, undefined>(true));
// @ts-expect-error init must return the declared context
older.init(() => ({ pid: 'not a number' }));

// An app without init has an undefined context; any app is a `Kalium`.
const bare = new Kalium('bare');
bare.handler('/', (context) => is<typeof context, undefined>(true));
const anyApp: Kalium = app;
const anyOlder: Kalium = older;
expectType<Kalium[]>([anyApp, anyOlder, bare]);

// SPEC §3: route registration is checked when the app is defined, not when a request arrives.
import test from 'ava';
import { Kalium } from '../../libs/kalium/app/kalium.ts';
import { Response } from '../../libs/kalium/app/response.ts';

const noop = async () => ({});

test('a route registered twice is an error at definition, naming the route', (t) => {
  const app = new Kalium('dup');
  app.handler('/predict', {}, noop);
  t.throws(() => app.handler('/predict', { gpu: false }, noop), { message: /Route \/predict is already registered/ });
  t.throws(() => app.background('/predict', {}, noop), { message: /\/predict/ });
});

test('gpu defaults to true, as in potassium; maxWaitMs to 0; methods to POST', (t) => {
  const app = new Kalium('defaults');
  app.handler('/', {}, noop);
  app.background('/bg', {}, noop);
  const handler = app.route('/');
  t.like(handler, { kind: 'handler', gpu: true, maxWaitMs: 0, methods: ['POST'], timeoutMs: undefined });
  t.like(app.route('/bg'), { kind: 'background', gpu: true, attempts: 1 });
});

test('bad route options are refused with the route and the option named', (t) => {
  const app = new Kalium('bad');
  t.throws(() => app.handler('no-slash', {}, noop), { message: /must start with \// });
  t.throws(() => app.handler('/jobs/x', {}, noop), { message: /reserved/ });
  t.throws(() => app.handler('/healthz', {}, noop), { message: /reserved/ });
  t.throws(() => app.handler('/t', { timeoutMs: -1 }, noop), { message: /\/t: timeoutMs/ });
  t.throws(() => app.handler('/t', { maxWaitMs: 1.5 }, noop), { message: /maxWaitMs/ });
  t.throws(() => app.handler('/t', { gpu: 'yes' as never }, noop), { message: /gpu must be true or false/ });
  t.throws(() => app.handler('/t', { methods: ['FETCH'] as never }, noop), { message: /methods/ });
  t.throws(() => app.handler('/t', { cache: { ttl: 0 } }, noop), { message: /cache.ttl/ });
  t.throws(() => app.background('/b', { attempts: 0 }, noop), { message: /attempts/ });
  t.throws(() => app.background('/b', { batch: { maxSize: 0, maxWaitMs: 5 } }, noop as never), { message: /batch.maxSize/ });
  t.throws(() => app.handler('/t', {}, 'not a function' as never), { message: /function/ });
  t.is(app.routes.length, 0, 'nothing was registered');
});

test('app names are checked, since they namespace Redis keys', (t) => {
  t.throws(() => new Kalium(''), { message: /name/ });
  t.throws(() => new Kalium('has space'), { message: /name/ });
  t.throws(() => new Kalium('{brace}'), { message: /name/ });
  t.notThrows(() => new Kalium('sentiment-v2.1'));
});

test('init is registered once', (t) => {
  const app = new Kalium('init-once');
  app.init(async () => 1);
  t.throws(() => app.init(async () => 2), { message: /already/ });
});

test('app.store is only there once the app runs under kalium', (t) => {
  t.throws(() => new Kalium('no-store').store, { message: /available once the app runs/ });
});

test('Response: json helper, plain values, undefined, and bad statuses', (t) => {
  t.like(Response.json({ a: 1 }, 201), { status: 201, json: { a: 1 } });
  t.like(Response.from({ a: 1 }), { status: 200, json: { a: 1 } });
  t.like(Response.from(undefined), { status: 204 });
  const same = new Response({ body: 'x' });
  t.is(Response.from(same), same);
  t.throws(() => new Response({ status: 99 }), { message: /status/ });
});

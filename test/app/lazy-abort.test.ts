// The lazy AbortController behind `request.signal` and `job.signal`: it must behave as a real one to
// whoever reads the signal, whenever they read it, while kalium itself asks only `aborted` and `reason`.
import test from 'ava';
import { LazyAbortController } from '../../libs/kalium/app/lazy-abort.ts';

test('a signal read after the abort is already aborted, with the reason given', (t) => {
  const controller = new LazyAbortController();
  const reason = new Error('canceled');
  controller.abort(reason);
  t.true(controller.aborted);
  t.is(controller.reason, reason);
  t.true(controller.signal.aborted);
  t.is(controller.signal.reason, reason);
});

test('a signal read before the abort hears it, once, with the first reason', (t) => {
  const controller = new LazyAbortController();
  const signal = controller.signal;
  let heard = 0;
  signal.addEventListener('abort', () => heard++);
  t.false(signal.aborted);
  const first = new Error('timeout');
  controller.abort(first);
  controller.abort(new Error('later'));
  t.is(heard, 1);
  t.is(signal.reason, first);
  t.is(controller.reason, first);
});

test('abort() with nothing gives an AbortError, as AbortController does', (t) => {
  const controller = new LazyAbortController();
  t.is(controller.reason, undefined);
  controller.abort();
  t.is((controller.reason as DOMException).name, 'AbortError');
  t.is(controller.signal.reason, controller.reason);
});

test('onAbort listeners run once on abort, or at once when it already happened, without a signal', (t) => {
  const controller = new LazyAbortController();
  const calls: string[] = [];
  controller.onAbort(() => calls.push('before'));
  t.deepEqual(calls, []);
  controller.abort(new Error('x'));
  controller.abort(new Error('y'));
  controller.onAbort(() => calls.push('after'));
  t.deepEqual(calls, ['before', 'after']);
});

/**
 * A promise with its resolve and reject at hand (Promise.withResolvers, which Node 20 lacks). Its own
 * rejection is marked handled: whoever owns it reports the failure; waiters still see the rejection.
 */
export function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

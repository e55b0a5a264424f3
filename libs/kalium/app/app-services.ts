import type { Cache } from '../cache/cache.ts';
import type { Store } from '../store/store.ts';

/** What a kalium runtime gives the app it runs: `app.store` and `app.cache`, on that runtime's Redis. */
export interface AppServices {
  readonly store: Store;
  readonly cache: Cache;
}

/**
 * The services of the runtimes running each app in this process, in the order they started. They are
 * kept beside the app, not in it: a runtime never writes into the user's app object. One registry per
 * process, under a global symbol as the app's brand is, so an app built against another copy of this
 * package finds what this copy's runtime published.
 */
const REGISTRY = Symbol.for('kalium.appServices');
const registry = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= new WeakMap<object, AppServices[]>()) as WeakMap<object, AppServices[]>;

/**
 * Makes `services` what the app's `store` and `cache` give from now on: of several runtimes running one
 * app in a process (an api and a worker in one test), the one that published last.
 */
export function publishAppServices(app: object, services: AppServices): void {
  const published = registry.get(app);
  if (published) published.push(services);
  else registry.set(app, [services]);
}

/**
 * Withdraws what one runtime published, and only that: the app falls back to the latest other runtime
 * still running it, or to none. Withdrawing twice, or what was never published, does nothing.
 */
export function withdrawAppServices(app: object, services: AppServices): void {
  const published = registry.get(app);
  const at = published?.lastIndexOf(services) ?? -1;
  if (!published || at < 0) return;
  published.splice(at, 1);
  if (published.length === 0) registry.delete(app);
}

/** The services of the latest runtime still running `app` in this process, if any. */
export function appServices(app: object): AppServices | undefined {
  return registry.get(app)?.at(-1);
}

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { backgroundRoute, handlerRoute } from './route-validation.ts';
import type {
  BackgroundFn,
  BackgroundOptions,
  BatchFn,
  HandlerFn,
  HandlerOptions,
  Route,
} from './routes.ts';
import type { Cache } from '../cache/cache.ts';
import { Store } from '../store/store.ts';
import type { StoreBackend } from '../store/store-backend.ts';

const APP_NAME = /^[A-Za-z0-9][\w.-]{0,63}$/;

/** Set by the CLI before it imports an app module, so that `app.serve()` in that module does nothing. */
const LOADED_BY_CLI = Symbol.for('kalium.loadedByCli');
/** Brands app objects, so an app built against another copy of this package is still recognised. */
const KALIUM_APP = Symbol.for('kalium.app');

/**
 * A kalium app: the model's `init`, its sync `handler` routes and its `background` routes.
 * The same module is imported by the api and the worker processes; each runs `init` once.
 *
 * @typeParam C - what `init` returns: the context gpu handlers receive.
 */
export class Kalium<C = any> {
  readonly name: string;
  readonly [KALIUM_APP] = true;
  readonly #routes = new Map<string, Route>();
  #init: (() => C | Promise<C>) | undefined;
  #store: Store | undefined;
  #cache: Cache | undefined;

  constructor(name: string) {
    if (typeof name !== 'string' || !APP_NAME.test(name)) {
      throw new TypeError(`Kalium app name must match ${APP_NAME} (it namespaces Redis keys), got ${JSON.stringify(name)}`);
    }
    this.name = name;
  }

  /** Registers the function that loads the model, once per process; what it returns is the context. */
  init(fn: () => C | Promise<C>): this {
    if (typeof fn !== 'function') throw new TypeError('app.init takes a function');
    if (this.#init) throw new Error(`app.init was already called for app ${this.name}`);
    this.#init = fn;
    return this;
  }

  /** A synchronous route: the caller waits for its answer. */
  handler(path: string, options: HandlerOptions & { gpu: false }, fn: HandlerFn<undefined>): this;
  handler(path: string, options: HandlerOptions, fn: HandlerFn<C>): this;
  handler(path: string, options: HandlerOptions, fn: HandlerFn<any>): this {
    return this.#add(handlerRoute(path, options ?? {}, fn));
  }

  /** A route whose requests become jobs: the caller gets a job id at once and the worker runs `fn`. */
  background(path: string, options: BackgroundOptions & { gpu: false; batch?: undefined }, fn: BackgroundFn<undefined>): this;
  background(path: string, options: BackgroundOptions & { batch: NonNullable<BackgroundOptions['batch']> }, fn: BatchFn<C>): this;
  background(path: string, options: BackgroundOptions, fn: BackgroundFn<C>): this;
  background(path: string, options: BackgroundOptions, fn: BackgroundFn<any> | BatchFn<any>): this {
    return this.#add(backgroundRoute(path, options ?? {}, fn));
  }

  #add(route: Route): this {
    const existing = this.#routes.get(route.path);
    if (existing) {
      throw new Error(`Route ${route.path} is already registered (as a ${existing.kind}) in app ${this.name}`);
    }
    this.#routes.set(route.path, route);
    return this;
  }

  get routes(): readonly Route[] {
    return [...this.#routes.values()];
  }

  route(path: string): Route | undefined {
    return this.#routes.get(path);
  }

  /** Runs the app's `init` (an app without one has an empty context). */
  async load(): Promise<C> {
    return this.#init ? await this.#init() : (undefined as C);
  }

  /**
   * The app's Store, on the Redis the process runs against; background results are written to it
   * under their job id. Available once the app runs (`kalium api|worker|dev`).
   */
  get store(): Store {
    if (!this.#store) {
      throw new Error(`app.store of ${this.name} is available once the app runs under kalium (api, worker or dev)`);
    }
    return this.#store;
  }

  /** @internal Called by the runtime when the process connects. */
  attachStore(backend: StoreBackend): void {
    this.#store = new Store(backend);
  }

  /**
   * The app's response cache for direct use in handlers (`get`, `set`, `wrap`), on the Redis the
   * process runs against, under the app's prefix; Redis errors are logged and `wrap` computes without
   * it. Available once the app runs (`kalium api|worker|dev`).
   */
  get cache(): Cache {
    if (!this.#cache) {
      throw new Error(`app.cache of ${this.name} is available once the app runs under kalium (api, worker or dev)`);
    }
    return this.#cache;
  }

  /** @internal Called by the runtime when the process connects. */
  attachCache(cache: Cache): void {
    this.#cache = cache;
  }

  /**
   * Runs this app as `kalium dev` does (api + worker, and a local Redis if none is configured) when the
   * file is run directly; does nothing when the file is loaded by the kalium CLI.
   */
  serve(): void {
    if ((globalThis as Record<symbol, unknown>)[LOADED_BY_CLI]) return;
    const file = process.argv[1];
    if (!file) throw new Error('app.serve() must be called from a file run with node or tsx');
    const cli = fileURLToPath(new URL('../../../apps/cli/kalium.mjs', import.meta.url));
    const child = spawn(process.execPath, [cli, 'dev', file], { stdio: 'inherit' });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
    child.on('exit', (code) => process.exit(code ?? 1));
  }
}

/** @internal */
export function markLoadedByCli(): void {
  (globalThis as Record<symbol, unknown>)[LOADED_BY_CLI] = true;
}

/** Imports an app module and returns its default export, checking that it is a Kalium app. */
export async function loadAppModule(specifier: string): Promise<Kalium> {
  markLoadedByCli();
  const mod = (await import(specifier)) as { default?: unknown };
  const app = mod.default;
  if (typeof app !== 'object' || app === null || !(KALIUM_APP in app)) {
    throw new Error(`${specifier} must export a Kalium app as its default export (export default app)`);
  }
  return app as Kalium;
}

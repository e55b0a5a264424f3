import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { backgroundRoute, handlerRoute } from './route-validation.ts';
import type { AnswerOf, BodyOf, GpuContext, JsonOf, ResultOf, RouteType, RouteTypes } from './route-types.ts';
import type {
  BackgroundFn,
  BackgroundOptions,
  BatchFn,
  HandlerFn,
  HandlerOptions,
  Route,
} from './routes.ts';
import type { Cache } from '../cache/cache.ts';
import type { Store } from '../store/store.ts';
import { appServices, type AppServices } from './app-services.ts';

const APP_NAME = /^[A-Za-z0-9][\w.-]{0,63}$/;

/** Set by the CLI before it imports an app module, so that `app.serve()` in that module does nothing. */
const LOADED_BY_CLI = Symbol.for('kalium.loadedByCli');
/** Brands app objects, so an app built against another copy of this package is still recognised. */
const KALIUM_APP = Symbol.for('kalium.app');

/**
 * A kalium app: the model's `init`, its sync `handler` routes and its `background` routes.
 * The same module is imported by the api and the worker processes; each runs `init` once.
 *
 * @typeParam C - what `init` returns: the context gpu handlers receive (`undefined` without an init).
 * @typeParam R - the routes defined so far, path → kind, body and result: what `KaliumClient<typeof app>` reads.
 */
class KaliumApp<C, R extends RouteTypes> {
  readonly name: string;
  readonly [KALIUM_APP] = true;
  /** Type-only (never set): the routes this app's type records, read by `KaliumClient<typeof app>`. */
  declare readonly '~routes': R;
  readonly #routes = new Map<string, Route>();
  // Not typed with C: an app of any context is a `Kalium` to the runtime, which treats the context as opaque.
  #init: (() => unknown) | undefined;

  constructor(name: string) {
    if (typeof name !== 'string' || !APP_NAME.test(name)) {
      throw new TypeError(`Kalium app name must match ${APP_NAME} (it namespaces Redis keys), got ${JSON.stringify(name)}`);
    }
    this.name = name;
  }

  /**
   * Registers the function that loads the model, once per process; what it returns is the context.
   * Returns the app typed with that context: `new Kalium('x').init(async () => ({ model }))`.
   */
  init<N extends ([undefined] extends [C] ? unknown : C)>(fn: () => N | Promise<N>): KaliumApp<N, R> {
    if (typeof fn !== 'function') throw new TypeError('app.init takes a function');
    if (this.#init) throw new Error(`app.init was already called for app ${this.name}`);
    this.#init = fn;
    return this as unknown as KaliumApp<N, R>;
  }

  /**
   * A synchronous route: the caller waits for its answer. Options are optional (a gpu handler
   * answering POST); with `gpu: false` the handler's context is `undefined`.
   */
  handler<const P extends string, Out = unknown>(path: P, fn: HandlerFn<C, JsonOf<object>, Out>): KaliumApp<C, R & { [K in P]: RouteType<'handler', unknown, ResultOf<object, Out>> }>;
  handler<const P extends string, const O extends HandlerOptions, Out extends AnswerOf<O> = AnswerOf<O>>(
    path: P,
    options: O,
    fn: HandlerFn<GpuContext<O, C>, JsonOf<O>, Out>,
  ): KaliumApp<C, R & { [K in P]: RouteType<'handler', BodyOf<O>, ResultOf<O, Out>> }>;
  handler(path: string, options: HandlerOptions | HandlerFn<never>, fn?: HandlerFn<never>): unknown {
    const [opts, handler] = typeof options === 'function' ? [{}, options] : [options ?? {}, fn];
    return this.#add(handlerRoute(path, opts, handler as HandlerFn<unknown>));
  }

  /**
   * A route whose requests become jobs: the caller gets a job id at once and the worker runs `fn`.
   * With `batch`, `fn` gets arrays of requests and job contexts and returns one result per request.
   */
  background<const P extends string, Out = unknown>(path: P, fn: BackgroundFn<C, JsonOf<object>, Out>): KaliumApp<C, R & { [K in P]: RouteType<'background', unknown, Out> }>;
  background<const P extends string, const O extends BackgroundOptions & { batch: object }, Out extends AnswerOf<O> = AnswerOf<O>>(
    path: P,
    options: O,
    fn: BatchFn<GpuContext<O, C>, JsonOf<O>, Out>,
  ): KaliumApp<C, R & { [K in P]: RouteType<'background', BodyOf<O>, ResultOf<O, Out>> }>;
  background<const P extends string, const O extends BackgroundOptions, Out extends AnswerOf<O> = AnswerOf<O>>(
    path: P,
    options: O & { batch?: undefined },
    fn: BackgroundFn<GpuContext<O, C>, JsonOf<O>, Out>,
  ): KaliumApp<C, R & { [K in P]: RouteType<'background', BodyOf<O>, ResultOf<O, Out>> }>;
  background(path: string, options: BackgroundOptions | BackgroundFn<never>, fn?: BackgroundFn<never> | BatchFn<never>): unknown {
    const [opts, handler] = typeof options === 'function' ? [{}, options] : [options ?? {}, fn];
    return this.#add(backgroundRoute(path, opts, handler as BackgroundFn<unknown>));
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
  async load(): Promise<unknown> {
    return this.#init ? await this.#init() : undefined;
  }

  /**
   * The app's Store, on the Redis the process runs against; background results are written to it
   * under their job id. Available while the app runs (`kalium api|worker|dev`); where several runtimes
   * run it in one process, the latest one still running.
   */
  get store(): Store {
    return this.#running('store').store;
  }

  /**
   * The app's response cache for direct use in handlers (`get`, `set`, `wrap`), on the Redis the
   * process runs against, under the app's prefix; Redis errors are logged and `wrap` computes without
   * it. Available while the app runs (`kalium api|worker|dev`); where several runtimes run it in one
   * process, the latest one still running.
   */
  get cache(): Cache {
    return this.#running('cache').cache;
  }

  // The runtime publishes these beside the app (app-services.ts) rather than writing them into it.
  #running(what: 'store' | 'cache'): AppServices {
    const services = appServices(this);
    if (!services) {
      throw new Error(`app.${what} of ${this.name} is available once the app runs under kalium (api, worker or dev); no kalium runtime is running it in this process now`);
    }
    return services;
  }

  /**
   * Runs this app as `kalium dev` does (api + worker, and a local Redis if none is configured) when the
   * file is run directly; does nothing when the file is loaded by the kalium CLI.
   */
  serve(): void {
    if ((globalThis as Record<symbol, unknown>)[LOADED_BY_CLI]) return;
    const file = process.argv[1];
    if (!file) throw new Error('app.serve() must be called from a file run with node or tsx');
    // The package's own `kalium/cli` export, resolved as any importer would: the library names the
    // CLI by its public entry point, not by a path into apps/.
    const cli = fileURLToPath(import.meta.resolve('kalium/cli'));
    const child = spawn(process.execPath, [cli, 'dev', file], { stdio: 'inherit' });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
    child.on('exit', (code) => process.exit(code ?? 1));
  }
}

/**
 * How `new Kalium(name)` is typed: without a type argument the context is `undefined` until `init`
 * gives it one (`new Kalium('x').init(() => ({ model }))`); `new Kalium<C>('x')` then `app.init(…)`,
 * the older form, still declares it up front.
 */
interface KaliumConstructor {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  new (name: string): KaliumApp<undefined, {}>;
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  new <C>(name: string): KaliumApp<C, {}>;
}

/** A kalium app. As a type with no arguments, any app (whatever its context and routes). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Kalium<C = any, R extends RouteTypes = any> = KaliumApp<C, R>;
export const Kalium = KaliumApp as KaliumConstructor;

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

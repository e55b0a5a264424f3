import type { StandardSchemaV1 } from '../schema/standard-schema.ts';
import type { Response } from './response.ts';

/**
 * A route's context type from its options' `gpu`: `undefined` when it is `false`, the app's `C` when
 * it is `true` or left out, and `C | undefined` when it is only known to be a boolean.
 */
export type GpuContext<O, C> = 'gpu' extends keyof O ? ContextFor<O['gpu' & keyof O], C> : C;
type ContextFor<G, C> = [G] extends [false] ? undefined : [G] extends [true | undefined] ? C : C | undefined;

/** What `request.json` holds on a route: its `input` schema's output, or the parsed body (`any`) without one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonOf<O> = SchemaOf<O, 'input'> extends infer S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : any;

/** What a caller sends a route: its `input` schema's input, or anything JSON without one. */
export type BodyOf<O> = SchemaOf<O, 'input'> extends infer S extends StandardSchemaV1 ? StandardSchemaV1.InferInput<S> : unknown;

/** What a route's handler must answer with when it has an `output` schema (else anything). */
export type AnswerOf<O> = SchemaOf<O, 'output'> extends infer S extends StandardSchemaV1 ? StandardSchemaV1.InferInput<S> : unknown;

/** What a caller gets back: the `output` schema's output, else what the handler returns (a Response's body is unknown). */
export type ResultOf<O, R> = SchemaOf<O, 'output'> extends infer S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : PlainResult<R>;
type PlainResult<R> = unknown extends R ? unknown : Exclude<R, Response | globalThis.Response> | (Extract<R, Response | globalThis.Response> extends never ? never : unknown);

type SchemaOf<O, K extends 'input' | 'output'> = K extends keyof O ? Exclude<O[K], undefined> : undefined;

/** One route as the app's type records it, for the typed client (`KaliumClient<typeof app>`). */
export interface RouteType<Kind extends 'handler' | 'background' = 'handler' | 'background', Body = unknown, Result = unknown> {
  kind: Kind;
  body: Body;
  result: Result;
}

/** The routes an app's type has recorded, path → RouteType. */
export type RouteTypes = Record<string, RouteType>;

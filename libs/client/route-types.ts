// How the client reads an app's routes from its type (`KaliumClient<typeof app>`), without importing
// server code: an app's type carries `'~routes'`, path → { kind, body, result }.

interface RouteShape {
  kind: 'handler' | 'background';
  body: unknown;
  result: unknown;
}

/** The routes `A` records, or `never` for an untyped client. */
type RoutesOf<A> = A extends { readonly '~routes': infer R extends Record<string, RouteShape> } ? R : never;

/** Whether the client knows its app's routes (`KaliumClient<typeof app>`) or takes any path. */
type Typed<A> = [RoutesOf<A>] extends [never] ? false : string extends keyof RoutesOf<A> ? false : true;

/** The paths of `A`'s routes of one kind; any string for an untyped client. */
export type PathOf<A, K extends RouteShape['kind']> =
  Typed<A> extends true ? { [P in keyof RoutesOf<A>]: RoutesOf<A>[P]['kind'] extends K ? P : never }[keyof RoutesOf<A>] & string : string;

/** What the route at `P` takes as its body (its input schema's input); unknown for an untyped client. */
export type BodyAt<A, P> = Typed<A> extends true ? (P extends keyof RoutesOf<A> ? RoutesOf<A>[P]['body'] : never) : unknown;

/** What the route at `P` answers with (or, for a background route, the job's result). */
export type ResultAt<A, P> = Typed<A> extends true ? (P extends keyof RoutesOf<A> ? RoutesOf<A>[P]['result'] : never) : unknown;

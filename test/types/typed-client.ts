// Type tests of `KaliumClient<typeof app>` (checked by tsc, never run): each call is typed from the
// example app's own type: its paths by kind, its input schemas' bodies, its output schemas' answers.
import { KaliumClient } from 'kalium/client';
import type example from '../../apps/example/app.ts';
import { Kalium } from 'kalium';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const is = <A, B>(_proof: Equal<A, B>) => undefined;

export async function typedCalls(client: KaliumClient<typeof example>): Promise<void> {
  const analysis = await client.run('/', { text: 'I love it' });
  is<typeof analysis.label, 'positive' | 'negative' | 'neutral'>(true);
  is<typeof analysis.sentiment, number>(true);

  const stored = await client.run('/result', { id: 'job-1' });
  is<typeof stored, { results: { sentiment: number; label: 'positive' | 'negative' | 'neutral'; entities: { value: string; type: string }[] }[] }>(true);

  await client.submit('/background', { texts: ['a', 'b'] });

  // @ts-expect-error text must be a string
  await client.run('/', { text: 42 });
  // @ts-expect-error no such route
  await client.run('/nowhere', {});
  // @ts-expect-error /background is a background route: submit it, do not run it
  await client.run('/background', { texts: ['a'] });
  // @ts-expect-error / is a handler route: it cannot be submitted as a job
  await client.submit('/', { text: 'a' });
  // @ts-expect-error a background body is { texts: string[] }
  await client.submit('/background', { text: 'a' });
}

// A handler route without an output schema answers what its function returns.
const chained = new Kalium('chained').handler('/sum', { gpu: false }, (_context, request) => ({ sum: Number(request.json?.a) + 1 }));
export async function inferredAnswer(client: KaliumClient<typeof chained>): Promise<void> {
  const answer = await client.run('/sum', { a: 1 });
  is<typeof answer, { sum: number }>(true);
}

// Untyped, the client takes any path and body, and the caller may name the answer's type.
export async function untypedCalls(client: KaliumClient): Promise<void> {
  const anything = await client.run('/whatever', { any: 'body' });
  is<typeof anything, unknown>(true);
  const named = await client.run<{ ok: boolean }>('/whatever');
  is<typeof named, { ok: boolean }>(true);
  await client.submit('/any-background', [1, 2, 3]);
}

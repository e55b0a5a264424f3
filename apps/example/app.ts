// The example kalium app: English sentiment and named entities with wink-nlp, a real model that ships
// inside an npm package (no download, no GPU needed). Run it with `kalium dev apps/example/app.ts`,
// or directly with `npx tsx apps/example/app.ts`, then read and try its routes at /docs.
//
// Its inputs and outputs are zod schemas: kalium checks each body before the handler runs (422
// `invalid_input` otherwise, and no job queued), types `request.json` from them, and documents them in
// /openapi.json. zod because kalium already depends on it; any Standard Schema library would do.
// The routes are defined as one chain, so `typeof app` records them for `KaliumClient<typeof app>`.
import winkNLP, { type WinkMethods } from 'wink-nlp';
import model from 'wink-eng-lite-web-model';
import { z } from 'zod';
import { Kalium, KaliumError } from 'kalium';

/** Longest text a request may carry, in characters. */
const MAX_TEXT = 10_000;
/** Most texts one background job may carry. */
const MAX_BATCH = 100;

const Text = z
  .string()
  .max(MAX_TEXT, `must be at most ${MAX_TEXT} characters`)
  .refine((text) => text.trim() !== '', 'must not be blank');

const Analysis = z.object({
  /** From -1 (negative) to 1 (positive). */
  sentiment: z.number().min(-1).max(1),
  label: z.enum(['positive', 'negative', 'neutral']),
  entities: z.array(z.object({ value: z.string(), type: z.string() })),
});
type Analysis = z.infer<typeof Analysis>;

// Loads the model once per process (api and worker each load their own copy).
const base = new Kalium('example').init(() => ({ nlp: winkNLP(model) }));

const app = base
  /** Sync, under the GPU lease: `{ text }` → its sentiment and entities. */
  .handler(
    '/',
    { gpu: true, timeoutMs: 10_000, input: z.object({ text: Text }), output: Analysis, summary: 'Sentiment and entities of one text' },
    (context, request) => analyse(context.nlp, request.json.text),
  )
  /** Background, under the GPU lease: `{ texts: [...] }` → one analysis per text, stored under the job id. */
  .background(
    '/background',
    {
      gpu: true,
      input: z.object({ texts: z.array(Text).min(1).max(MAX_BATCH) }),
      output: z.object({ results: z.array(Analysis) }),
      summary: 'Sentiment and entities of up to 100 texts, as a job',
    },
    async (context, request, job) => {
      const { texts } = request.json;
      const results: Analysis[] = [];
      for (const [index, text] of texts.entries()) {
        job.signal.throwIfAborted(); // canceled or timed out: stop between texts
        results.push(analyse(context.nlp, text));
        await job.progress(Math.round(((index + 1) / texts.length) * 100));
      }
      return { results };
    },
  )
  /** gpu=false, so it answers while the model is busy: `{ id }` → the background job's stored result. */
  .handler(
    '/result',
    { gpu: false, input: z.object({ id: z.string().min(1).max(256) }), summary: 'A background job’s stored result' },
    async (_context, request) => {
      const result = await base.store.get(request.json.id);
      if (result === undefined) throw new KaliumError('not_ready', 404, `No result for job ${request.json.id} yet.`);
      return result as { results: Analysis[] };
    },
  );

function analyse(nlp: WinkMethods, text: string): Analysis {
  const doc = nlp.readDoc(text);
  const sentiment = Number(doc.out(nlp.its.sentiment));
  const label = sentiment > 0 ? 'positive' : sentiment < 0 ? 'negative' : 'neutral';
  return { sentiment, label, entities: doc.entities().out(nlp.its.detail) as Analysis['entities'] };
}

export default app;
app.serve(); // runs the app when this file is run directly; does nothing under the kalium CLI

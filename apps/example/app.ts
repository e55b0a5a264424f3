// The example kalium app: English sentiment and named entities with wink-nlp, a real model that ships
// inside an npm package (no download, no GPU needed). Run it with `kalium dev apps/example/app.ts`,
// or directly with `npx tsx apps/example/app.ts`.
import winkNLP, { type Detail, type WinkMethods } from 'wink-nlp';
import model from 'wink-eng-lite-web-model';
import { Kalium, KaliumError } from 'kalium';

/** Longest text a request may carry, in characters. */
const MAX_TEXT = 10_000;
/** Most texts one background job may carry. */
const MAX_BATCH = 100;

interface Analysis {
  /** From -1 (negative) to 1 (positive). */
  sentiment: number;
  label: 'positive' | 'negative' | 'neutral';
  entities: Detail[];
}

const app = new Kalium<{ nlp: WinkMethods }>('example');

// Loads the model once per process (api and worker each load their own copy).
app.init(() => ({ nlp: winkNLP(model) }));

/** Sync, under the GPU lease: `{ text }` → its sentiment and entities. */
app.handler('/', { gpu: true, timeoutMs: 10_000 }, (context, request) =>
  analyse(context.nlp, checkText(request.json?.text, 'text')),
);

/** Background, under the GPU lease: `{ texts: [...] }` → one analysis per text, stored under the job id. */
app.background('/background', { gpu: true }, async (context, request, job) => {
  const texts = checkTexts(request.json?.texts);
  const results: Analysis[] = [];
  for (const [index, text] of texts.entries()) {
    job.signal.throwIfAborted(); // canceled or timed out: stop between texts
    results.push(analyse(context.nlp, text));
    await job.progress(Math.round(((index + 1) / texts.length) * 100));
  }
  return { results };
});

/** gpu=false, so it answers while the model is busy: `{ id }` → the background job's stored result. */
app.handler('/result', { gpu: false }, async (_context, request) => {
  const id = checkText(request.json?.id, 'id', 256);
  const result = await app.store.get(id);
  if (result === undefined) throw new KaliumError('not_ready', 404, `No result for job ${id} yet.`);
  return result;
});

function analyse(nlp: WinkMethods, text: string): Analysis {
  const doc = nlp.readDoc(text);
  const sentiment = Number(doc.out(nlp.its.sentiment));
  const label = sentiment > 0 ? 'positive' : sentiment < 0 ? 'negative' : 'neutral';
  return { sentiment, label, entities: doc.entities().out(nlp.its.detail) as Detail[] };
}

/** The caller's mistakes are 400 `invalid_input`, with a message that says what was expected. */
function checkText(value: unknown, field: string, max = MAX_TEXT): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidInput(`"${field}" must be a non-empty string in a JSON body, e.g. {"${field}": "…"}.`);
  }
  if (value.length > max) throw invalidInput(`"${field}" is ${value.length} characters; the limit is ${max}.`);
  return value;
}

function checkTexts(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BATCH) {
    throw invalidInput(`"texts" must be an array of 1 to ${MAX_BATCH} strings.`);
  }
  return value.map((text, index) => checkText(text, `texts[${index}]`));
}

function invalidInput(message: string): KaliumError {
  return new KaliumError('invalid_input', 400, message);
}

export default app;
app.serve(); // runs the app when this file is run directly; does nothing under the kalium CLI

// A kalium app: `npm run dev` serves it on http://localhost:8000 (api + worker + a local Redis).
// Replace the "model" below with yours; init loads it once per process (the api's and the worker's).
import { Kalium, KaliumError } from 'kalium';

/** A stand-in model: scores English text from -1 (negative) to 1 (positive) by the words it knows. */
function loadModel(): (text: string) => number {
  const weights = new Map<string, number>([
    ['love', 1], ['great', 1], ['good', 0.5], ['happy', 0.5],
    ['hate', -1], ['awful', -1], ['bad', -0.5], ['sad', -0.5],
  ]);
  return (text) => {
    const scores = text.toLowerCase().split(/\W+/).map((word) => weights.get(word) ?? 0);
    const total = scores.reduce((sum, score) => sum + score, 0);
    return Math.max(-1, Math.min(1, total));
  };
}

const app = new Kalium<{ score: (text: string) => number }>('__APP_NAME__');

app.init(async () => ({ score: loadModel() }));

/** Sync, under the GPU lease (a second caller while it runs gets 423): `{ text }` → `{ score }`. */
app.handler('/', { gpu: true }, (context, request) => ({ score: context.score(textOf(request.json?.text)) }));

/** Background: `{ texts: [...] }` → 202 with a job id at once; the result is kept under that id. */
app.background('/background', { gpu: true }, async (context, request, job) => {
  const texts: unknown = request.json?.texts;
  if (!Array.isArray(texts) || texts.length === 0) throw new KaliumError('invalid_input', 400, '"texts" must be a non-empty array of strings.');
  const scores: number[] = [];
  for (const text of texts) {
    job.signal.throwIfAborted(); // canceled or timed out: stop between texts
    scores.push(context.score(textOf(text)));
    await job.progress(Math.round((scores.length / texts.length) * 100));
  }
  return { scores };
});

/** gpu=false: no lease, so it answers while the model is busy. */
app.handler('/ping', { gpu: false }, () => ({ pong: true }));

function textOf(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new KaliumError('invalid_input', 400, 'Send {"text": "…"}: a non-empty string.');
  }
  return value;
}

export default app;

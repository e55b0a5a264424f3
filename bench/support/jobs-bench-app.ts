// The app `npm run bench` runs the job path with: a no-op model, and a model costing 20 ms + 1 ms per item,
// unbatched and batched (maxSize 16).
import { setTimeout as sleep } from 'node:timers/promises';
import { Kalium } from 'kalium';

type Context = { model: (items: number) => Promise<unknown> };

const app = new Kalium<Context>('jobsbench');

app.init(async () => ({ model: (items: number) => sleep(20 + items) }));

app.background('/noop', { gpu: true }, async () => ({ ok: true }));

app.background('/model', { gpu: true }, async (context) => {
  await context.model(1);
  return { ok: true };
});

app.background('/model-batched', { gpu: true, batch: { maxSize: 16, maxWaitMs: 5 } }, async (context, requests) => {
  await context.model(requests.length);
  return requests.map(() => ({ ok: true }));
});

export default app;

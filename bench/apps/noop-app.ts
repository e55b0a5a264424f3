// The TypeScript twin of bench/apps/noop_app.py: the same routes and answers, for the python bench.
import { Kalium } from 'kalium';

const app = new Kalium('bench-ts').init(() => ({ model: (value: unknown) => value }));

app.handler('/gpu', { gpu: true, maxWaitMs: 1000 }, (context, request) => ({ ok: true, n: context.model(request.json?.n ?? null) }));
app.handler('/echo', { gpu: false }, (_context, request) => ({ ok: true, n: request.json?.n ?? null }));

export default app;

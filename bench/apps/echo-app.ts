// The kalium side of the http bench: a gpu=false JSON route (SPEC §16's first figure), and the same
// route with a zod input schema, to show what validation costs.
import { z } from 'zod';
import { Kalium } from 'kalium';

const app = new Kalium('bench');

app.handler('/echo', { gpu: false }, (_context, request) => ({ ok: true, n: request.json?.n ?? null }));

app.handler('/echo-checked', { gpu: false, input: z.object({ n: z.number() }) }, (_context, request) => ({ ok: true, n: request.json.n }));

export default app;

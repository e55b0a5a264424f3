// The kalium side of the http bench: one gpu=false JSON route, nothing else (SPEC §11's first figure).
import { Kalium } from 'kalium';

const app = new Kalium('bench');

app.handler('/echo', { gpu: false }, (_context, request) => ({ ok: true, n: request.json?.n ?? null }));

export default app;

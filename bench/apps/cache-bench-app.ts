// The kalium side of the cache bench: the same JSON answer from a cached gpu route (served from the
// cache once warm) and from a plain gpu=false route.
import { Kalium } from 'kalium';

const app = new Kalium('cachebench');

app.handler('/cached', { gpu: true, cache: { ttl: 3600 } }, (_context, request) => ({ ok: true, n: request.json?.n ?? null }));

app.handler('/echo', { gpu: false }, (_context, request) => ({ ok: true, n: request.json?.n ?? null }));

export default app;

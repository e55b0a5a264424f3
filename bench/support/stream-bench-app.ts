// The app `npm run bench -- streaming` runs: the same 1,000 small chunks, streamed by an async generator
// or returned at once as a list.
import { Kalium } from 'kalium';

const app = new Kalium('streambench');

const CHUNKS = 1000;
const chunk = (i: number) => ({ i, token: 'tok' });

app.background('/stream', { gpu: false }, async function* () {
  for (let i = 0; i < CHUNKS; i++) yield chunk(i);
});

app.background('/once', { gpu: false }, async () => Array.from({ length: CHUNKS }, (_, i) => chunk(i)));

export default app;

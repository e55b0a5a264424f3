import { randomUUID } from 'node:crypto';
import { rawRequest } from '../helpers/raw-http.ts';
import type { Slot } from './cluster.ts';
import { pickApi } from './load.ts';
import type { Tally } from './tally.ts';

/** One request no careful client sends. `answer: false`: it closes (or stalls) before a reply is due. */
interface Malformed {
  name: string;
  parts: Array<string | Buffer>;
  pauseMs?: number;
  answer: boolean;
  /** How long to wait for the reply (or, without one, how long to hold the connection). */
  boundMs: number;
}

const H = 'Host: chaos\r\n';
const post = (path: string, headers: string, body = '{"i":-1,"ms":0}') =>
  `POST ${path} HTTP/1.1\r\n${H}Connection: close\r\nContent-Type: application/json\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const get = (path: string, headers = '') => `GET ${path} HTTP/1.1\r\n${H}Connection: close\r\n${headers}\r\n`;
const one = (name: string, request: string | Buffer, boundMs = 8000): Malformed => ({ name, parts: [request], answer: true, boundMs });

// The suite's apis allow private targets (its redirecting webhook target is on 127.0.0.1), so these
// are the targets no setting makes valid; the address policy has its own tests (test/webhook).
const BAD_WEBHOOKS = ['not a url', 'ftp://example.com/x', 'javascript:alert(1)', `http://example.com/${'a'.repeat(5000)}`, 'http://', 'http://exa mple.com/', 'https://example.com:99999/', 'file:///etc/passwd', '//example.com/x', 'http://user:pw@example.com/'];
const BAD_WAITS = ['-1', '61', 'abc', '1e3', '', '5.55555', '1&wait=2', '%00', '9999999999999'];
const BAD_KEYS = ['a'.repeat(300), 'has space\ttab', 'caf\u00e9', '\u007f'];

/** The catalogue, as makers: each draws its details from `random`. */
const MAKERS: Array<(random: () => number) => Malformed> = [
  () => one('malformed Content-Length', `POST /work HTTP/1.1\r\n${H}Content-Length: 1x\r\n\r\n{}`),
  () => one('two Content-Lengths', `POST /work HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`),
  () => one('Content-Length with Transfer-Encoding', `POST /work HTTP/1.1\r\n${H}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`),
  () => one('bad chunk size', `POST /work HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`),
  () => one('Transfer-Encoding xchunked', `POST /work HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`),
  () => one('control byte in a header', `GET /healthz HTTP/1.1\r\n${H}X-Bad: a\u0001b\r\n\r\n`),
  () => one('bad method token', `GE(T /healthz HTTP/1.1\r\n${H}\r\n`),
  () => one('header name with a space', `GET /healthz HTTP/1.1\r\n${H}Bad Name: 1\r\n\r\n`),
  () => one('bad HTTP version', `GET /healthz HTTP/9.Z\r\n${H}\r\n`),
  () => one('headers over 16 KB', `GET /healthz HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(17_000)}\r\n\r\n`),
  () => one('request target over 16 KB', `GET /${'a'.repeat(17_000)} HTTP/1.1\r\n${H}\r\n`),
  () => one('no Host', 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n'),
  () => one('two Hosts', `GET /healthz HTTP/1.1\r\n${H}${H}Connection: close\r\n\r\n`),
  () => one('TRACE', `TRACE /work HTTP/1.1\r\n${H}Connection: close\r\n\r\n`),
  () => one('CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
  () => one('PROPFIND', `PROPFIND /jobs/${randomUUID()} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`),
  () => one('Expect teapot', post('/work', 'Expect: teapot\r\n')),
  (random) => one('bad Idempotency-Key', Buffer.from(post('/work', `Idempotency-Key: ${pick(BAD_KEYS, random)}\r\n`), 'latin1')),
  (random) => one('bad X-Webhook-Url', post('/work', `X-Webhook-Url: ${pick(BAD_WEBHOOKS, random)}\r\n`)),
  () => one('bad X-Webhook-Events', post('/work', 'X-Webhook-Url: https://example.com/hook\r\nX-Webhook-Events: started,nope\r\n')),
  () => one('bad Cancel-After', post('/work', 'Cancel-After: soon\r\n')),
  () => one('bad X-Priority', post('/work', 'X-Priority: urgent\r\n')),
  (random) => one('bad ?wait=', get(`/jobs/${randomUUID()}?wait=${pick(BAD_WAITS, random)}`)),
  () => one('long-poll of an unknown job', get(`/jobs/${randomUUID()}?wait=1`)),
  (random) => one('bad job id', get(pick(['/jobs/..%2f..%2fetc%2fpasswd', '/jobs/%00', `/jobs/${'x'.repeat(300)}`, '/jobs/%E0%A4%A', '/jobs/1/events'], random))),
  () => one('cancel of an unknown job', `DELETE /jobs/${randomUUID()} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`),
  () => one('invalid JSON', post('/work', '', '{"i": ')),
  () => one('JSON nested 5,000 deep', post('/work', '', `${'['.repeat(5000)}${']'.repeat(5000)}`)),
  () => one('body over BODY_LIMIT', post('/work', '', JSON.stringify({ pad: 'x'.repeat(70_000) }))),
  () => one('XML body', post('/work', 'X-Kind: xml\r\n', '<i>1</i>').replace('application/json', 'application/xml')),
  (random) => one('path tricks', get(pick(['//jobs', '/admin/queues/../work', '/%2e%2e/', '/admin/queues', '/admin/queues/api/queues', '/work/', '/WORK', 'http://evil.example/healthz', '*'], random))),
  (random) => ({ name: 'HEAD', parts: [`HEAD ${pick(['/work', `/jobs/${randomUUID()}`, '/healthz', '/nowhere'], random)} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`], answer: true, boundMs: 8000 }),
  (random) => one('OPTIONS', `OPTIONS ${pick(['/work', '*', '/jobs/x', '/nowhere'], random)} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`),
  () => one('HTTP/1.0 without Host', 'GET /healthz HTTP/1.0\r\n\r\n'),
  () => one('pipelined, the second malformed', `GET /healthz HTTP/1.1\r\n${H}\r\nGET /healthz HTTP/1.1\r\n${H}Content-Length: zz\r\n\r\n`),
  () => ({ name: 'slow body', parts: chunks(post('/work', ''), 8), pauseMs: 150, answer: true, boundMs: 10_000 }),
  () => ({ name: 'truncated body, then closed', parts: [`POST /work HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"i":`], answer: false, boundMs: 300 }),
  () => ({ name: 'stalled body', parts: [`POST /work HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"i":`], answer: true, boundMs: 15_000 }),
  () => ({ name: 'stalled headers', parts: [`GET /healthz HTTP/1.1\r\n${H}`], answer: true, boundMs: 15_000 }),
];

function pick<T>(list: readonly T[], random: () => number): T {
  return list[Math.floor(random() * list.length)]!;
}

function chunks(text: string, count: number): string[] {
  const size = Math.ceil(text.length / count);
  return Array.from({ length: count }, (_, i) => text.slice(i * size, (i + 1) * size)).filter(Boolean);
}

/**
 * Sends `count` malformed requests, `concurrency` at a time, each to a random live api; every class of
 * the catalogue at least once. Counts 5xx, requests with no answer (unless their api was killed under
 * them) and answers of 400 and up that are not in kalium's error shape.
 */
export async function sendMalformed(tally: Tally, apis: Slot[], random: () => number, count: number, concurrency: number, spreadMs: number): Promise<void> {
  const plan = Array.from({ length: count }, (_, i) => MAKERS[i < MAKERS.length ? i : Math.floor(random() * MAKERS.length)]!(random));
  let next = 0;
  const gapMs = (spreadMs * concurrency) / count;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < plan.length) {
        const request = plan[next++]!;
        await new Promise((r) => setTimeout(r, gapMs * random()));
        const slot = await pickApi(apis, random);
        const generation = slot.generation;
        const answer = await rawRequest(slot.port, request.parts, { pauseMs: request.pauseMs, timeoutMs: request.boundMs });
        tally.malformedSent++;
        if (!request.answer) continue;
        const killed = !slot.up || slot.generation !== generation;
        if (answer.status === 0) {
          if (killed) tally.droppedByKill++;
          else tally.hung.push(`malformed "${request.name}" on api ${slot.index}: ${answer.hung ? `no answer within ${request.boundMs} ms` : 'closed without an answer'}`);
          continue;
        }
        let body: any;
        try {
          body = JSON.parse(answer.body);
        } catch {
          body = undefined;
        }
        const isHead = String(request.parts[0]).startsWith('HEAD');
        // A HEAD answer has no body to carry its code. kalium's 503s with Retry-After are backend_unavailable,
        // queue_full and initializing; the suite sends only to apis whose init has finished, and the queue
        // stays far below QUEUE_MAX, so here such a 503 is Redis being away.
        const headCode = isHead && answer.status === 503 && answer.headers['retry-after'] ? 'backend_unavailable' : undefined;
        tally.answer(`malformed "${request.name}"`, answer.status, body?.error?.code ?? headCode);
        const inShape = body?.error?.code && body.error.request_id && body.error.request_id === answer.headers['x-request-id'];
        if (answer.status >= 400 && !isHead && !inShape) tally.offShape.push(`malformed "${request.name}" → ${answer.status} ${answer.body.slice(0, 120)}`);
      }
    }),
  );
}

export const MALFORMED_CLASSES = MAKERS.length;

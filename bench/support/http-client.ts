// The clients the job benches drive an api with: JSON over kept-alive HTTP connections (cheap per
// request, so the bench measures the server), and a fixed number of tasks in flight.
import { Agent, request } from 'node:http';

/** JSON over HTTP on kept-alive connections. */
export interface JsonClient {
  /** One exchange; resolves with the status and the parsed JSON answer (null when the body is empty). */
  send(method: string, url: string, body?: string): Promise<{ status: number; json: any }>;
  /** Closes the kept-alive connections. */
  close(): void;
}

/** A client using at most `maxSockets` connections per server. */
export function jsonClient(maxSockets: number): JsonClient {
  const agent = new Agent({ keepAlive: true, maxSockets });
  return {
    send(method, url, body) {
      return new Promise((resolve, reject) => {
        const headers = body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {};
        const req = request(url, { method, agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
        });
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

/** Runs `count` tasks, `inFlight` at a time. */
export async function inParallel(count: number, inFlight: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) await task(next++);
  }));
}

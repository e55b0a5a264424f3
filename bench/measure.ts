// Load runs shared by the benches that compare HTTP servers (autocannon, a warm-up, server CPU per request).
import autocannon from 'autocannon';
import { cpuMicros, type ChildServer } from './child-server.ts';

export interface Measurement {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU time per request, µs (Linux only). */
  cpuUs: number | undefined;
}

export interface Load {
  connections: number;
  durationS: number;
  warmupS: number;
}

/** One autocannon run of `POST <path>` after a warm-up; every answer must be a 2xx or the figure means nothing. */
export async function measure(server: ChildServer, path: string, body: unknown, load: Load): Promise<Measurement> {
  const options = {
    url: server.url + path,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    connections: load.connections,
  };
  await autocannon({ ...options, duration: load.warmupS });
  const cpuBefore = cpuMicros(server.pid);
  const result = await autocannon({ ...options, duration: load.durationS });
  const cpuAfter = cpuMicros(server.pid);
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`${options.url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  const cpuUs = cpuBefore === undefined || cpuAfter === undefined ? undefined : (cpuAfter - cpuBefore) / result.requests.total;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuUs };
}

export function mean(runs: Measurement[]): Measurement {
  const avg = (pick: (m: Measurement) => number | undefined) => {
    const values = runs.map(pick);
    return values.includes(undefined) ? undefined : (values as number[]).reduce((sum, v) => sum + v, 0) / values.length;
  };
  return { rps: avg((m) => m.rps)!, p50: avg((m) => m.p50)!, p99: avg((m) => m.p99)!, cpuUs: avg((m) => m.cpuUs) };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** `1234 req/s (p50 4 ms, p99 12 ms, 80 µs CPU)` */
export function describe(m: Measurement): string {
  const cpu = m.cpuUs === undefined ? '' : `, ${m.cpuUs.toFixed(0)} µs CPU`;
  return `${Math.round(m.rps)} req/s (p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms${cpu})`;
}

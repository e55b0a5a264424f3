import type { Cluster, Slot } from './cluster.ts';

type FaultKind = 'kill-api' | 'kill-worker' | 'term-api' | 'term-worker' | 'kill-redis' | 'stop-redis' | 'debug-sleep';

/** How many of each fault one run injects, spread at random over the fault window. */
const FAULTS: Record<FaultKind, number> = {
  'kill-api': 6,
  'kill-worker': 8,
  'term-api': 2, // mid-long-poll: clients hold long-polls on every api all the time
  'term-worker': 2, // mid-job: the workers are busy all the time
  'kill-redis': 1,
  'stop-redis': 1, // SIGSTOP for 3 s, then SIGCONT
  'debug-sleep': 1, // DEBUG SLEEP 2: Redis busy in a command, its connections open
};

export interface FaultLog {
  at: number;
  kind: FaultKind;
  target: string;
}

/** The run's schedule: the same seed gives the same faults at the same offsets. */
export function faultSchedule(random: () => number, windowMs: number): Array<{ atMs: number; kind: FaultKind; pick: number; downMs: number }> {
  const events = Object.entries(FAULTS).flatMap(([kind, count]) =>
    Array.from({ length: count }, () => ({ atMs: 1000 + random() * (windowMs - 1000), kind: kind as FaultKind, pick: random(), downMs: 300 + random() * 1200 })),
  );
  return events.sort((a, b) => a.atMs - b.atMs);
}

/** Runs the schedule against the cluster; restarts each killed or stopped process after its `downMs`. */
export async function injectFaults(cluster: Cluster, schedule: ReturnType<typeof faultSchedule>, log: FaultLog[]): Promise<void> {
  const started = Date.now();
  const restarts: Array<Promise<void>> = [];
  for (const event of schedule) {
    const wait = started + event.atMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const at = Date.now() - started;
    const bounce = (slot: Slot, signal: NodeJS.Signals) => {
      log.push({ at, kind: event.kind, target: `${slot.role} ${slot.index} (pid ${slot.pid})` });
      restarts.push(
        slot.stop(signal).then(async () => {
          await new Promise((r) => setTimeout(r, event.downMs));
          await slot.start();
        }),
      );
    };
    const live = (slots: Slot[]) => slots.filter((slot) => slot.up);
    switch (event.kind) {
      case 'kill-api':
      case 'term-api':
      case 'kill-worker':
      case 'term-worker': {
        const slots = live(event.kind.endsWith('api') ? cluster.apis : cluster.workers);
        if (slots.length === 0) {
          log.push({ at, kind: event.kind, target: 'skipped: none up' });
          break;
        }
        bounce(slots[Math.floor(event.pick * slots.length)]!, event.kind.startsWith('kill') ? 'SIGKILL' : 'SIGTERM');
        break;
      }
      case 'kill-redis':
        log.push({ at, kind: event.kind, target: 'redis' });
        await cluster.redis.kill();
        await new Promise((r) => setTimeout(r, event.downMs));
        await cluster.redis.restart();
        break;
      case 'stop-redis':
        log.push({ at, kind: event.kind, target: 'redis' });
        cluster.redis.freeze();
        await new Promise((r) => setTimeout(r, 3000));
        cluster.redis.thaw();
        break;
      case 'debug-sleep': {
        log.push({ at, kind: event.kind, target: 'redis' });
        const client = cluster.redis.client();
        await client.call('DEBUG', 'SLEEP', '2').catch(() => {});
        client.disconnect();
        break;
      }
    }
  }
  await Promise.all(restarts);
}

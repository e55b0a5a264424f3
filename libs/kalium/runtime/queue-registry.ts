import type { Queue } from 'bullmq';

/**
 * The BullMQ queues a process holds (the app's job queue, the webhook queue, …), registered by the
 * parts that open them so operator tooling can find them: the dashboard shows them and `/metrics`
 * reports their depth. It does not own them; whoever registers a queue also closes it.
 */
export class QueueRegistry {
  readonly #queues = new Map<string, Queue>();
  readonly #extraCounts = new Map<string, () => Promise<Record<string, number>>>();
  #version = 0;

  /**
   * Adds a queue under its name; `extraCounts` reports states of its jobs that BullMQ does not know
   * (kalium's `canceled`). @throws Error when a different queue already has that name.
   */
  register(queue: Queue, extraCounts?: () => Promise<Record<string, number>>): void {
    const existing = this.#queues.get(queue.name);
    if (existing === queue) return;
    if (existing) throw new Error(`A queue named ${queue.name} is already registered`);
    this.#queues.set(queue.name, queue);
    if (extraCounts) this.#extraCounts.set(queue.name, extraCounts);
    this.#version += 1;
  }

  /** The registered queues, in registration order. */
  list(): Queue[] {
    return [...this.#queues.values()];
  }

  /** The counts of states BullMQ does not know, for a queue registered with them. */
  extraCounts(name: string): (() => Promise<Record<string, number>>) | undefined {
    return this.#extraCounts.get(name);
  }

  /** Grows whenever the set of queues changes, so readers can tell when to refresh a copy. */
  get version(): number {
    return this.#version;
  }
}

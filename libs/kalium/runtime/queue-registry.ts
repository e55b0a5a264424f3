import type { Queue } from 'bullmq';

/**
 * The BullMQ queues a process holds (the app's job queue, the webhook queue, …), registered by the
 * parts that open them so operator tooling can find them: the dashboard shows them and `/metrics`
 * reports their depth. It does not own them; whoever registers a queue also closes it.
 */
export class QueueRegistry {
  readonly #queues = new Map<string, Queue>();
  #version = 0;

  /** Adds a queue under its name. @throws Error when a different queue already has that name. */
  register(queue: Queue): void {
    const existing = this.#queues.get(queue.name);
    if (existing === queue) return;
    if (existing) throw new Error(`A queue named ${queue.name} is already registered`);
    this.#queues.set(queue.name, queue);
    this.#version += 1;
  }

  /** The registered queues, in registration order. */
  list(): Queue[] {
    return [...this.#queues.values()];
  }

  /** Grows whenever the set of queues changes, so readers can tell when to refresh a copy. */
  get version(): number {
    return this.#version;
  }
}

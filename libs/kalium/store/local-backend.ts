import type { StoreBackend } from './store-backend.ts';

/** An in-process store: a Map with expiry times, swept as it is used so expired entries do not pile up. */
export class LocalBackend implements StoreBackend {
  readonly #entries = new Map<string, { value: string; expiresAt: number }>();
  #writesSinceSweep = 0;

  async get(key: string): Promise<string | undefined> {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.#entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
    if (++this.#writesSinceSweep >= 1000) this.#sweep();
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }

  #sweep(): void {
    this.#writesSinceSweep = 0;
    const now = Date.now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }
}

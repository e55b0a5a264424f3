/** A seeded PRNG (mulberry32): the same `--seed` gives the same schedule, bodies and choices. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the suite counts. Each list holds one line per case, so a failing run says which. */
export class Tally {
  /** job id → the first succeeded result seen, once seen. */
  readonly accepted = new Map<string, { key: string; result?: string; status?: string }>();
  /** Idempotency-Key → the job id its first 2xx named. */
  readonly keys = new Map<string, string>();
  readonly lost: string[] = [];
  readonly duplicated: string[] = [];
  readonly fiveXX: string[] = [];
  readonly hung: string[] = [];
  /** Answers of 400 and up that are not kalium's JSON error shape with X-Request-Id (reported, not gated). */
  readonly offShape: string[] = [];
  reRuns = 0;
  /** Requests whose api was killed under them: retried (load) or not expected to answer (malformed). */
  droppedByKill = 0;
  retries = 0;
  answered503 = 0;
  malformedSent = 0;
  readonly statuses = new Map<number, number>();

  /** Counts an answer's status; a 5xx other than 503 backend_unavailable / queue_full is a failure. */
  answer(where: string, status: number, code: string | undefined): void {
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    if (status === 503 && (code === 'backend_unavailable' || code === 'queue_full')) {
      this.answered503++;
      return;
    }
    if (status >= 500) this.fiveXX.push(`${where} → ${status} ${code ?? ''}`);
  }

  summary(): string {
    return `accepted ${this.accepted.size}, lost ${this.lost.length}, duplicated ${this.duplicated.length}, re-runs ${this.reRuns}, 5xx ${this.fiveXX.length}, hung ${this.hung.length}`;
  }

  get failed(): boolean {
    return this.lost.length + this.duplicated.length + this.fiveXX.length + this.hung.length > 0;
  }
}

/** Counters behind potassium's status shape, for this process's gpu work. */
export class GpuStats {
  #sequence = 0;
  #runningSince: number | undefined;
  #lastEndedAt = Date.now();
  #lastDurationMs = 0;

  /** Marks a gpu call as started; the returned function marks it ended. */
  start(): () => void {
    const startedAt = Date.now();
    this.#sequence += 1;
    this.#runningSince = startedAt;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#lastEndedAt = Date.now();
      this.#lastDurationMs = this.#lastEndedAt - startedAt;
      this.#runningSince = undefined;
    };
  }

  /** `idle_time`: ms since the last gpu call ended (0 while one runs); `inference_time`: ms of the running call, else of the last. */
  snapshot(): { sequence_number: number; idle_time: number; inference_time: number } {
    const now = Date.now();
    return {
      sequence_number: this.#sequence,
      idle_time: this.#runningSince === undefined ? now - this.#lastEndedAt : 0,
      inference_time: this.#runningSince === undefined ? this.#lastDurationMs : now - this.#runningSince,
    };
  }
}

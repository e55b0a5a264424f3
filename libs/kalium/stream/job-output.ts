import type { RedisClient } from '../redis/connection.ts';
import type { AppKeys } from '../redis/keys.ts';
import { withScripts, type ScriptedRedis } from '../redis/scripts.ts';
import { encodeNotice } from '../queue/job-notices.ts';

/**
 * The output a streaming job keeps at most, in bytes of chunk JSON, unless its route says otherwise
 * (`maxOutputBytes`). Chunks are kept twice over (the stream late subscribers replay, and the result,
 * the list of chunks), so the cap is what bounds a runaway generator's cost in Redis and in the worker.
 */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;

/** The error a job fails with once its output passes the cap: it stops, no retry. */
export class OutputTooLargeError extends Error {
  readonly code = 'output_too_large';
  constructor(maxBytes: number, bytes: number) {
    super(`The job's output passed its cap of ${maxBytes} bytes (maxOutputBytes) at ${bytes} bytes; it was stopped.`);
    this.name = 'OutputTooLargeError';
  }
}

/** One chunk as readers see it. */
export interface OutputChunk {
  /** Its index in its run (from 0). */
  index: number;
  chunk: unknown;
  /** The run that streamed it (the job's attempt): a retried or rerun job streams again from index 0. */
  attempt: number;
  /** Where a reader resumes after it (see readOutput). */
  cursor: string;
}

/**
 * Writes one run's chunks to the job's output stream (output-append.lua), in order, without waiting
 * for each write: ioredis pipelines them on one connection, so a generator is never held up by a
 * round trip per chunk. `settled()` waits for them all; the result is stored only after it.
 */
export class JobOutputWriter {
  readonly chunks: unknown[] = [];
  readonly #redis: ScriptedRedis;
  readonly #key: string;
  readonly #channel: string;
  readonly #id: string;
  readonly #ttl: string;
  readonly #attempt: string;
  readonly #maxBytes: number;
  #bytes = 0;
  #last: Promise<unknown> = Promise.resolve();
  #failure: unknown;

  constructor(redis: RedisClient, keys: AppKeys, id: string, options: { ttlSeconds: number; maxBytes: number; attempt: number }) {
    this.#redis = withScripts(redis);
    this.#key = keys.jobOutput(id);
    this.#channel = keys.jobNotices(id);
    this.#id = id;
    this.#ttl = String(options.ttlSeconds);
    this.#attempt = String(Math.max(1, options.attempt));
    this.#maxBytes = options.maxBytes;
  }

  /** Bytes of chunk JSON written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Sends one chunk; returns its index.
   * @throws OutputTooLargeError past the cap (the chunk is not kept); TypeError for a chunk that is not JSON.
   */
  push(chunk: unknown): number {
    const json = JSON.stringify(chunk === undefined ? null : chunk);
    if (json === undefined) throw new TypeError('A streamed chunk must be JSON (got a function or a symbol).');
    const bytes = this.#bytes + Buffer.byteLength(json);
    if (bytes > this.#maxBytes) throw new OutputTooLargeError(this.#maxBytes, bytes);
    this.#bytes = bytes;
    const index = this.chunks.length;
    this.chunks.push(chunk === undefined ? null : chunk);
    const notice = encodeNotice({ id: this.#id, type: 'output', index });
    this.#last = this.#redis.kaliumOutputAppend(this.#key, String(index), json, this.#ttl, this.#channel, notice, this.#attempt).catch((error: unknown) => {
      this.#failure ??= error;
    });
    return index;
  }

  /** Resolves once every chunk sent is in Redis. @throws the first write's error. */
  async settled(): Promise<void> {
    await this.#last;
    if (this.#failure !== undefined) throw this.#failure;
  }
}

/**
 * The chunks of a job's output after `after` (a chunk's cursor), or all of them; empty when it has none.
 * After a rerun, a reader past the earlier run's chunks gets the new run's from its first.
 */
export async function readOutput(redis: RedisClient, keys: AppKeys, id: string, after?: string): Promise<OutputChunk[]> {
  const entries = await redis.xrange(keys.jobOutput(id), after === undefined ? '-' : `(${after}`, '+');
  return entries.map(([entryId, fields]) => {
    const [attempt, seq] = entryId.split('-');
    return { index: Number(seq) - 1, chunk: JSON.parse(fields[1]!) as unknown, attempt: Number(attempt), cursor: entryId };
  });
}

/** `GET /jobs/:id`'s `output`: the chunks so far, or undefined for a job that has streamed nothing. */
export async function readOutputField(redis: RedisClient, keys: AppKeys, id: string): Promise<unknown[] | undefined> {
  const chunks = await readOutput(redis, keys, id);
  return chunks.length === 0 ? undefined : chunks.map(({ chunk }) => chunk);
}

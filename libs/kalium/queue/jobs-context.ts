import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.ts';
import type { AppKeys } from '../redis/keys.ts';
import type { JobData } from './job-data.ts';
import type { JobHooks } from './job-hooks.ts';

/** What the api's job operations share: the queue, the fail-fast connection, the keys, the hooks. */
export interface JobsContext {
  readonly queue: Queue<JobData>;
  /** A command connection: fails fast while Redis is down. */
  readonly redis: Redis;
  readonly keys: AppKeys;
  readonly resultTtlSeconds: number;
  readonly hooks: readonly JobHooks[];
  readonly logger: Logger;
}

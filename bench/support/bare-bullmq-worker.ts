// The baseline of the job-path bench: a bare BullMQ worker, concurrency 1, whose processor does nothing
// but return a value (BullMQ stores it with the job). Run as its own process, as kalium's worker is.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [url, queue, prefix] = process.argv.slice(2);
const connection = new Redis(url!, { maxRetriesPerRequest: null });
const worker = new Worker(queue!, async () => ({ ok: true }), { connection, prefix, concurrency: 1 });
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));

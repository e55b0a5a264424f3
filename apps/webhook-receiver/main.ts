// The example webhook receiver: `node --import tsx apps/webhook-receiver/main.ts`. It verifies each
// delivery's signature, de-duplicates by webhook-id, logs one JSON line per delivery and answers 204.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { z } from 'zod';
import { webhookReceiver } from '../../libs/client/index.ts';

/** This app's whole configuration, read once here. */
const env = z
  .object({
    WEBHOOK_RECEIVER_HOST: z.string().min(1).default('0.0.0.0'),
    WEBHOOK_RECEIVER_PORT: z.coerce.number().int().min(0).max(65535).default(8001),
    WEBHOOK_SECRET: z.string().regex(/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/, 'expected whsec_ followed by a base64 secret').optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .safeParse(Object.fromEntries(Object.entries(process.env).filter(([, value]) => value !== '')));
if (!env.success) {
  process.stderr.write(`webhook-receiver: ${env.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ')}\n`);
  process.exit(1);
}
const config = env.data;
const logger = pino({ level: config.LOG_LEVEL, name: 'webhook-receiver', base: { pid: process.pid } });
if (!config.WEBHOOK_SECRET) logger.warn('WEBHOOK_SECRET is not set: deliveries are accepted without verifying signatures');

const server = createServer(
  webhookReceiver({
    secret: config.WEBHOOK_SECRET,
    onDelivery: ({ id, timestamp, payload, verified }) => {
      const job = payload as { id?: unknown; event?: unknown; status?: unknown };
      logger.info({ webhookId: id, timestamp, verified, event: job.event, jobId: job.id, status: job.status, payload }, 'webhook received');
    },
    onDuplicate: (id) => logger.info({ webhookId: id }, 'webhook duplicate ignored'),
    onRejected: (status, reason) => logger.warn({ status, reason }, 'webhook rejected'),
  }),
);
server.listen(config.WEBHOOK_RECEIVER_PORT, config.WEBHOOK_RECEIVER_HOST, () => {
  const { port } = server.address() as AddressInfo;
  logger.info({ port, url: `http://127.0.0.1:${port}` }, 'webhook receiver listening');
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

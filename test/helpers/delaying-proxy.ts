import net from 'node:net';

/**
 * A TCP proxy in front of Redis that delays what Redis sends back, as a slow network path would: on
 * every connection once `delayAll` is set, or only on connections that subscribed (pub/sub) when
 * `delaySubscribers` is. Delays only grow (never set back to 0), so bytes keep their order.
 */
export interface DelayingProxy {
  readonly url: string;
  /** Delay (ms) of every connection's replies from now on. */
  delayAll(ms: number): void;
  /** Delay (ms) of replies and messages on connections that have sent SUBSCRIBE. */
  delaySubscribers(ms: number): void;
  close(): Promise<void>;
}

export async function startDelayingProxy(redisPort: number): Promise<DelayingProxy> {
  let allMs = 0;
  let subscriberMs = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(redisPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let subscribed = false;
    client.on('data', (chunk) => {
      if (!subscribed && /subscribe/i.test(chunk.toString('latin1'))) subscribed = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      const ms = Math.max(allMs, subscribed ? subscriberMs : 0);
      if (ms === 0) client.write(chunk);
      else setTimeout(() => client.writable && client.write(chunk), ms);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    delayAll: (ms) => (allMs = Math.max(allMs, ms)),
    delaySubscribers: (ms) => (subscriberMs = Math.max(subscriberMs, ms)),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

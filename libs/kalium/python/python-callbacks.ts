import type { Kalium } from '../app/kalium.ts';
import { Store } from '../store/store.ts';
import { sendWebhook } from '../webhook/send-webhook.ts';
import type { FrameHeader } from './frames.ts';
import type { CallbackServer } from './python-child.ts';

/**
 * Serves what the Python side asks of kalium: `Store(backend="redis")` is the app's Store (the
 * process's one Redis client, under the app's key prefix), `Store(backend="local")` one in-process
 * Store shared by every local Python Store of this process, `send_webhook` kalium's durable, signed
 * webhook queue. `app` is read per call: its Store is there while a runtime runs the app.
 */
export function pythonCallbacks(app: () => Kalium | undefined): CallbackServer {
  let local: Store | undefined;
  const storeOf = (backend: unknown): Store => {
    if (backend === 'local') return (local ??= new Store({ backend: 'local' }));
    const current = app();
    if (!current) throw new Error('the Store is available once the app is loaded');
    return current.store;
  };
  return async (request: FrameHeader) => {
    if (request.op === 'webhook') return sendWebhook(String(request.url), request.json);
    if (request.op !== 'store') throw new Error(`kalium does not serve ${JSON.stringify(request.op)} to Python`);
    const store = storeOf(request.backend);
    const key = String(request.key);
    if (request.method === 'get') return store.get(key);
    if (request.method === 'set') return store.set(key, request.value, { ttl: Number(request.ttl) });
    if (request.method === 'delete') return store.delete(key);
    throw new Error(`Store has no method ${JSON.stringify(request.method)}`);
  };
}

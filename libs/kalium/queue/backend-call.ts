import { errors, KaliumError } from '../errors/kalium-error.ts';

/** How long a request waits on Redis before answering 503 `backend_unavailable`. */
export const BACKEND_DEADLINE_MS = 1000;

/**
 * Runs Redis work on a request's path. A failure, or no answer within the deadline (BullMQ waits for
 * a connection that is not ready yet), becomes 503 `backend_unavailable`: never a hang. KaliumErrors
 * thrown by the work itself pass through. `late.aborted` turns true at the deadline: work with several
 * steps checks it before a step that must not happen once the caller was told 503.
 */
export async function onBackend<T>(work: (late: { readonly aborted: boolean }) => Promise<T>, deadlineMs = BACKEND_DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = { aborted: false };
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      late.aborted = true;
      reject(errors.backendUnavailable(new Error(`Redis did not answer within ${deadlineMs} ms`)));
    }, deadlineMs);
  });
  try {
    return await Promise.race([work(late), deadline]);
  } catch (error) {
    throw error instanceof KaliumError ? error : errors.backendUnavailable(error);
  } finally {
    clearTimeout(timer);
  }
}

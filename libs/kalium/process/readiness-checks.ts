/**
 * Readiness conditions an app carries besides kalium's own (init done, Redis answering): a Python
 * app is not ready while its model process is starting again. Keyed by the app object, so the HTTP
 * layer asks about the app it serves without knowing what kind of app it is.
 */
const checks = new WeakMap<object, () => string | undefined>();

/** `check` returns why the app cannot serve now, or undefined when it can. */
export function addReadinessCheck(app: object, check: () => string | undefined): void {
  checks.set(app, check);
}

export function appNotReadyReason(app: object): string | undefined {
  return checks.get(app)?.();
}

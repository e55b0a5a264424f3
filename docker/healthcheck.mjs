// The image's HEALTHCHECK: exits 0 when /healthz answers 200 on the api's PORT or on the worker's
// METRICS_PORT (one image serves both roles; each process listens on one of them), else 1.
// Usage: node docker/healthcheck.mjs [url]
const urls = process.argv[2]
  ? [process.argv[2]]
  : [`http://127.0.0.1:${process.env.PORT || 8000}/healthz`, `http://127.0.0.1:${process.env.METRICS_PORT || 9100}/healthz`];

async function healthy(url) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

const results = await Promise.all(urls.map(healthy));
process.exit(results.some(Boolean) ? 0 : 1);

// The example webhook receiver's health check (docker-compose.yml): exits 0 when the receiver answers
// HTTP at all on WEBHOOK_RECEIVER_PORT (it has no /healthz; a GET gets 405), else 1. A file rather
// than `node -e '…'` in the compose file, since podman's Docker API splits an argument with spaces.
const port = process.env.WEBHOOK_RECEIVER_PORT || 8001;
try {
  await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) });
  process.exit(0);
} catch {
  process.exit(1);
}

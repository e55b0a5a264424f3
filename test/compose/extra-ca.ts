import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';

// Where this machine reaches the npm registry through a TLS-intercepting proxy, its npm trusts the
// proxy's CA (Debian's /usr/local/share/ca-certificates, or NODE_EXTRA_CA_CERTS); the image build's
// npm must trust it too. These are the host's CA certificates Node does not already know: passed to
// the build as EXTRA_CA_CERTS, never by turning TLS checks off.

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const normalized = (pem: string) => pem.replace(/\s+/g, '');

function certificatesIn(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').match(PEM) ?? [];
  } catch {
    return [];
  }
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : name.endsWith('.crt') || name.endsWith('.pem') ? [path] : [];
  });
}

/** PEM text of the host's extra CA certificates (none: ''). */
export function hostExtraCaCertificates(): string {
  const known = new Set(rootCertificates.map(normalized));
  const sources = [...filesUnder('/usr/local/share/ca-certificates'), ...(process.env.NODE_EXTRA_CA_CERTS ? [process.env.NODE_EXTRA_CA_CERTS] : [])];
  const extra = new Map<string, string>();
  for (const pem of sources.flatMap(certificatesIn)) if (!known.has(normalized(pem))) extra.set(normalized(pem), pem);
  return [...extra.values()].join('\n');
}

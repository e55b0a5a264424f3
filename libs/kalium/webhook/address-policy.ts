import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Where webhooks may not go unless `WEBHOOK_ALLOW_PRIVATE=true`: private, loopback, link-local (which
 * holds the cloud metadata endpoint 169.254.169.254), carrier-grade NAT (Alibaba's metadata 100.100.100.200),
 * unique-local IPv6 (AWS's fd00:ec2::254), multicast and reserved ranges. IPv4-mapped IPv6 addresses
 * (`::ffff:127.0.0.1`) are matched against the IPv4 rules by `BlockList` itself.
 */
const FORBIDDEN = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  FORBIDDEN.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64: reaches IPv4 addresses, private ones included
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  FORBIDDEN.addSubnet(network, prefix, 'ipv6');
}

/** Whether an IP address lies in a range webhooks may not reach by default. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return FORBIDDEN.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** Raised (through the socket) when a webhook target resolves to a forbidden address. */
export class ForbiddenAddressError extends Error {
  readonly code = 'WEBHOOK_ADDRESS_FORBIDDEN';
  constructor(host: string, address: string) {
    super(`${host} resolves to ${address}, a private, loopback or link-local address`);
    this.name = 'ForbiddenAddressError';
  }
}

/**
 * A DNS lookup for sockets that refuses forbidden addresses. It runs when the socket connects, so the
 * address checked is the address connected to: a name that resolved to a public address at submit time
 * and to 127.0.0.1 now (DNS rebinding) is still refused. Every address of the name must pass.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  const { all, ...rest } = options as LookupOptions;
  dnsLookup(hostname, { ...rest, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const forbidden = addresses.find((entry) => isForbiddenAddress(entry.address));
    if (forbidden) return callback(new ForbiddenAddressError(hostname, forbidden.address), '', 0);
    if (all) return (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
    callback(null, first.address, first.family);
  });
};

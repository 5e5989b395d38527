import dns from 'node:dns';
import net from 'node:net';
import { type IpNetwork, ipv6Hextets } from '../domain/webhook-input.js';

/**
 * Where webhooks may be sent: only to public addresses, unless the operator allows a network
 * (WEBHOOK_ALLOWED_NETWORKS) or every network (WEBHOOK_ALLOW_PRIVATE_NETWORKS). Otherwise whoever
 * holds an API key could make the server POST to loopback, the cloud metadata service or any
 * internal address, and read the answers back through the deliveries API.
 *
 * The ranges refused are those of the IANA special-purpose address registries that are not
 * globally reachable, plus documentation, benchmarking, multicast and reserved space; they are
 * listed in docs/webhooks.md ("Target safety"). An address that carries an IPv4 address inside
 * it (IPv4-mapped, NAT64, 6to4) is judged by that IPv4 address.
 */

/** One address a host name stands for. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** The addresses of a host name, every one of them; the default asks the system resolver as connecting would. */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: HostResolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/** The settings the policy reads (a subset of WebhookSettings). */
export interface NetworkSettings {
  readonly allowPrivateNetworks: boolean;
  readonly allowedNetworks: readonly IpNetwork[];
}

/** How long adding an endpoint waits for its host name to resolve before accepting it unresolved. */
export const ADD_LOOKUP_TIMEOUT_MS = 5_000;

const ADVICE = 'webhook targets must be public (set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true for local development, or allow the network in WEBHOOK_ALLOWED_NETWORKS)';

type Range = readonly [cidr: string, why: string];

const PRIVATE = 'a private address';
const RESERVED = 'a reserved address';
const DOCUMENTATION = 'a documentation address';

/** First match wins. */
const IPV4_RANGES: readonly Range[] = [
  ['255.255.255.255/32', 'the broadcast address'],
  ['0.0.0.0/8', 'an unspecified address'],
  ['127.0.0.0/8', 'a loopback address'],
  ['10.0.0.0/8', PRIVATE],
  ['172.16.0.0/12', PRIVATE],
  ['192.168.0.0/16', PRIVATE],
  ['169.254.0.0/16', 'a link-local address'],
  ['100.64.0.0/10', 'a shared (carrier-grade NAT) address'],
  ['192.0.0.0/24', RESERVED],
  ['192.0.2.0/24', DOCUMENTATION],
  ['198.51.100.0/24', DOCUMENTATION],
  ['203.0.113.0/24', DOCUMENTATION],
  ['198.18.0.0/15', 'a benchmarking address'],
  ['192.88.99.0/24', RESERVED],
  ['224.0.0.0/4', 'a multicast address'],
  ['240.0.0.0/4', RESERVED],
];

/** First match wins; checked after the forms that carry an IPv4 address. */
const IPV6_RANGES: readonly Range[] = [
  ['::/128', 'an unspecified address'],
  ['::1/128', 'a loopback address'],
  ['64:ff9b:1::/48', PRIVATE],
  ['fc00::/7', PRIVATE],
  ['fe80::/10', 'a link-local address'],
  ['fec0::/10', 'a site-local address'],
  ['ff00::/8', 'a multicast address'],
  ['2001:db8::/32', DOCUMENTATION],
  ['3fff::/20', DOCUMENTATION],
  ['2001:2::/48', 'a benchmarking address'],
  ['2001::/23', RESERVED],
  ['5f00::/16', RESERVED],
  ['100::/64', RESERVED],
];

function blockList(cidrs: readonly string[], family: 'ipv4' | 'ipv6'): net.BlockList {
  const list = new net.BlockList();
  for (const cidr of cidrs) {
    const [address, prefix] = cidr.split('/') as [string, string];
    list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

// One list per range, and one family per list: a BlockList also matches an IPv4 address against
// IPv6 rules (as ::ffff:a.b.c.d), which would blur what each range means.
const ipv4Ranges = IPV4_RANGES.map(([cidr, why]) => ({ list: blockList([cidr], 'ipv4'), why }));
const ipv6Ranges = IPV6_RANGES.map(([cidr, why]) => ({ list: blockList([cidr], 'ipv6'), why }));
/** Global unicast: the only IPv6 space IANA allocates from; anything else is reserved. */
const globalUnicast = blockList(['2000::/3'], 'ipv6');

const ipv4Of = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;

/** The IPv4 address an IPv6 address carries and the name of the form, when it is one of those forms. */
function embeddedIpv4(hextets: readonly number[]): { ipv4: string; form: string } | null {
  const [a, b, c, d, e, f, g, h] = hextets as [number, number, number, number, number, number, number, number];
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0xffff) return { ipv4: ipv4Of(g, h), form: 'IPv4-mapped' };
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0) return { ipv4: ipv4Of(g, h), form: 'NAT64' };
  if (a === 0x2002) return { ipv4: ipv4Of(b, c), form: '6to4' };
  return null;
}

/** Raised when a delivery attempt's target is not allowed; its message is the attempt's error. */
export class TargetRefusedError extends Error {
  constructor(reason: string) {
    super(`refused: ${reason}`);
    this.name = 'TargetRefusedError';
  }
}

/** The address text without a zone (`fe80::1%eth0`); a zone only ever comes with a link-local address. */
const withoutZone = (address: string) => address.split('%')[0]!;

/** The host of a URL as a resolver or `net.isIP` reads it: IPv6 without its brackets. */
export function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

export class NetworkPolicy {
  private readonly allowedV4: net.BlockList;
  private readonly allowedV6: net.BlockList;

  constructor(
    private readonly settings: NetworkSettings,
    /** Injectable so that tests can make a name resolve to what they need; never real DNS in tests. */
    readonly resolve: HostResolver = systemResolver,
    private readonly addLookupTimeoutMs = ADD_LOOKUP_TIMEOUT_MS,
  ) {
    const cidrs = (family: 4 | 6) => settings.allowedNetworks.filter((n) => n.family === family).map((n) => `${n.address}/${n.prefix}`);
    this.allowedV4 = blockList(cidrs(4), 'ipv4');
    this.allowedV6 = blockList(cidrs(6), 'ipv6');
  }

  /** Whether every address is allowed (WEBHOOK_ALLOW_PRIVATE_NETWORKS). */
  get open(): boolean {
    return this.settings.allowPrivateNetworks;
  }

  /**
   * Why an IP address may not be a webhook target, as a phrase ("a loopback address"), or null
   * when it may: a public address, or one in WEBHOOK_ALLOWED_NETWORKS.
   */
  addressProblem(text: string): string | null {
    if (this.open) return null;
    const address = withoutZone(text);
    const family = net.isIP(address);
    if (family === 4) {
      if (this.allowedV4.check(address, 'ipv4')) return null;
      return ipv4Ranges.find((range) => range.list.check(address, 'ipv4'))?.why ?? null;
    }
    const hextets = family === 6 ? ipv6Hextets(address) : null;
    if (!hextets) return 'not an IP address';
    if (this.allowedV6.check(address, 'ipv6')) return null;
    const embedded = embeddedIpv4(hextets);
    if (embedded) {
      const inner = this.addressProblem(embedded.ipv4);
      return inner && `the ${embedded.form} form of ${embedded.ipv4}, ${inner}`;
    }
    const range = ipv6Ranges.find((r) => r.list.check(address, 'ipv6'));
    if (range) return range.why;
    return globalUnicast.check(address, 'ipv6') ? null : RESERVED;
  }

  /**
   * Checked when an endpoint is added: why its URL may not be a webhook target (a sentence for the
   * `url` field), or null. A host name is resolved and refused when any of its addresses is; a name
   * that does not resolve (yet) is accepted, since every delivery attempt checks it again.
   */
  async urlProblem(text: string): Promise<string | null> {
    if (this.open) return null;
    const host = hostOf(new URL(text));
    if (net.isIP(host)) {
      const why = this.addressProblem(host);
      return why && `The address ${host} is ${why}; ${ADVICE}.`;
    }
    let addresses: readonly ResolvedAddress[];
    try {
      addresses = await withTimeout(this.resolve(host), this.addLookupTimeoutMs);
    } catch {
      return null;
    }
    for (const { address } of addresses) {
      const why = this.addressProblem(address);
      if (why) return `The host ${host} resolves to ${withoutZone(address)}, ${why}; ${ADVICE}.`;
    }
    return null;
  }

  /** Throws TargetRefusedError when an IP-literal host may not be connected to. */
  checkAddress(address: string): void {
    const why = this.addressProblem(address);
    if (why) throw new TargetRefusedError(`${address} is ${why}`);
  }

  /**
   * The addresses to connect to for a host name, resolved now: every one is checked, and if any
   * is refused the whole name is (a name that answers one public and one internal address would
   * otherwise reach the internal one whenever the connection picks it).
   */
  async resolveAllowed(hostname: string): Promise<readonly ResolvedAddress[]> {
    const addresses = await this.resolve(hostname);
    if (addresses.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    for (const { address } of addresses) {
      const why = this.addressProblem(address);
      if (why) throw new TargetRefusedError(`${hostname} resolved to ${withoutZone(address)}, ${why}`);
    }
    return addresses;
  }

  /**
   * A `lookup` for node:net (and so node:http and node:https): resolves through the policy and
   * hands the socket only checked addresses, so the address connected to is the address checked
   * (no window for a DNS answer that changes in between).
   */
  readonly lookup: net.LookupFunction = (hostname, options, callback) => {
    this.resolveAllowed(hostname).then(
      (all) => {
        const addresses = options.family ? all.filter((a) => a.family === options.family) : all;
        const first = addresses[0];
        if (!first) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        if (options.all) return callback(null, addresses.map(({ address, family }) => ({ address, family })));
        callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

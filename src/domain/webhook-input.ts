import { charLength, isIpv4, unstorableText } from './formats.js';

/**
 * Webhook management input: its limits, for the schemas of src/schemas/webhooks.ts (which the API
 * and the CLI both validate with), the checks a schema cannot say (urlProblem: a URL Crosswalk
 * can POST to; parsePositiveInteger: an id in a path or an argument), and the IP networks of the
 * WEBHOOK_ALLOWED_NETWORKS setting (parseNetwork, ipv6Hextets).
 */

export const MAX_URL_LENGTH = 2048;
export const MIN_SECRET_LENGTH = 16;
export const MAX_SECRET_LENGTH = 256;
export const MAX_DESCRIPTION_LENGTH = 256;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const MAX_EVENT_TYPES = 20;
/** Printable ASCII without the space: what a signing secret may hold. */
export const SECRET_PATTERN = /^[\x21-\x7e]+$/;

/**
 * Why `text` is not a URL Crosswalk can POST to, or null. This is the URL's form only: whether its
 * host is a public address is the network policy's decision (src/webhooks/network-policy.ts), made
 * when the endpoint is added and again at every delivery attempt.
 */
export function urlProblem(text: string): string | null {
  if (charLength(text) > MAX_URL_LENGTH) return `Ensure this field has no more than ${MAX_URL_LENGTH} characters.`;
  const unstorable = unstorableText(text);
  if (unstorable) return unstorable;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'Enter an absolute http:// or https:// URL.';
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || /\s/.test(text)) {
    return 'Enter an absolute http:// or https:// URL.';
  }
  if (url.username !== '' || url.password !== '') return 'The URL must not contain a user name or password.';
  return null;
}

/** A whole positive number written in decimal digits, within the safe integer range, or null. */
export function parsePositiveInteger(text: string): number | null {
  if (!/^[1-9]\d{0,15}$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

/** An IP network: the first address and the prefix length, as in `10.20.0.0/16` or `fd00:1234::/32`. */
export interface IpNetwork {
  /** In its canonical text: dotted decimal, or IPv6 as the URL standard writes it (lower case, `::`). */
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
}

/**
 * The eight 16-bit groups of an IPv6 address (an embedded dotted quad such as `::ffff:1.2.3.4`
 * included), or null when `text` is not one. A zone (`%eth0`) is not accepted.
 */
export function ipv6Hextets(text: string): number[] | null {
  // Only these characters, so that nothing in the text can end the bracketed host early.
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  let host: string;
  try {
    // The URL standard's IPv6 parser: it validates, and writes the result in canonical form.
    host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((hex) => parseInt(hex, 16)));
  const [head, tail] = host.split('::') as [string, string | undefined];
  if (tail === undefined) return groups(head);
  const left = groups(head);
  const right = groups(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** The canonical text of an IPv6 address given as eight groups. */
export function ipv6Text(hextets: readonly number[]): string {
  return new URL(`http://[${hextets.map((group) => group.toString(16)).join(':')}]/`).hostname.slice(1, -1);
}

function bitsOf(family: 4 | 6, address: string): bigint {
  const parts = family === 4 ? address.split('.').map(Number) : ipv6Hextets(address)!;
  const width = BigInt(family === 4 ? 8 : 16);
  return parts.reduce((value, part) => (value << width) | BigInt(part), 0n);
}

function textOf(family: 4 | 6, bits: bigint): string {
  const count = family === 4 ? 4 : 8;
  const width = family === 4 ? 8n : 16n;
  const parts = Array.from({ length: count }, (_, i) => Number((bits >> (width * BigInt(count - 1 - i))) & ((1n << width) - 1n)));
  return family === 4 ? parts.join('.') : ipv6Text(parts);
}

/**
 * One network as an operator writes it: `10.20.0.0/16`, `fd00:1234::/32`, or a single address
 * (`/32` or `/128`). Bits set after the prefix are refused, since `10.20.1.0/16` is more likely a
 * typo for `/24` than a wish to allow all of 10.20.0.0/16.
 */
export function parseNetwork(text: string): { network: IpNetwork } | { problem: string } {
  const [address = '', prefixText, ...rest] = text.split('/');
  const family = isIpv4(address) ? 4 : ipv6Hextets(address) !== null && address.includes(':') ? 6 : null;
  if (family === null || rest.length > 0 || (prefixText !== undefined && !/^(0|[1-9]\d{0,2})$/.test(prefixText))) {
    return { problem: `"${text}" is not an IP network such as 10.20.0.0/16 or fd00:1234::/32` };
  }
  const width = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? width : Number(prefixText);
  if (prefix > width) return { problem: `the prefix of "${text}" must be 0 to ${width}` };
  const bits = bitsOf(family, address);
  const hostBits = BigInt(width - prefix);
  const first = (bits >> hostBits) << hostBits;
  if (first !== bits) return { problem: `"${text}" has bits set after its /${prefix} prefix; write ${textOf(family, first)}/${prefix}` };
  return { network: { address: textOf(family, bits), prefix, family } };
}

import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';

interface Bucket {
  tokens: number;
  updated: number;
}

/**
 * Token buckets by name: `perSecond` tokens a second on average, up to `burst` at once. At most
 * `maxBuckets` are kept, the least recently used dropped first (a dropped bucket starts full again).
 * The buckets live in this process, so N processes allow N times the rate in total.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxBuckets = Number.POSITIVE_INFINITY,
  ) {}

  private refilled(name: string, now: number): Bucket {
    const bucket = this.buckets.get(name) ?? { tokens: this.burst, updated: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + (Math.max(0, now - bucket.updated) / 1000) * this.perSecond);
    bucket.updated = now;
    // Map order is use order: the first entry is the least recently used.
    this.buckets.delete(name);
    this.buckets.set(name, bucket);
    if (this.buckets.size > this.maxBuckets) this.buckets.delete(this.buckets.keys().next().value!);
    return bucket;
  }

  private wait(bucket: Bucket): number {
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }

  /** Takes one token, or says how many seconds until one is there. */
  take(name: string, now = Date.now()): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const bucket = this.refilled(name, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: this.wait(bucket) };
  }

  /** Seconds until a token is there, without taking one; null when one is there now. */
  empty(name: string, now = Date.now()): number | null {
    if (!this.buckets.has(name)) return null;
    const bucket = this.refilled(name, now);
    return bucket.tokens >= 1 ? null : this.wait(bucket);
  }

  /** Takes a token if there is one; a bucket that is empty stays empty. */
  spend(name: string, now = Date.now()): void {
    const bucket = this.refilled(name, now);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }
}

/** A token bucket per API key: `perSecond` requests a second on average, up to `burst` at once. */
export class RateLimiter {
  private readonly buckets: TokenBuckets;

  constructor(perSecond: number, burst: number) {
    this.buckets = new TokenBuckets(perSecond, burst);
  }

  /** Takes one token for the key, or says how many seconds until one is there. */
  take(keyId: string, now = Date.now()): { ok: true } | { ok: false; retryAfterSeconds: number } {
    return this.buckets.take(keyId, now);
  }

  /** An onRequest hook, after authentication. */
  hook() {
    return async (request: FastifyRequest): Promise<void> => {
      const verdict = this.take(request.apiKeyId);
      if (verdict.ok) return;
      const seconds = String(verdict.retryAfterSeconds);
      throw new ApiError(
        'rate_limited',
        [{ source: 'non_field_errors', errors: [`Too many requests for this API key; retry in ${seconds} s.`] }],
        { 'retry-after': seconds },
      );
    };
  }
}

/**
 * Who a client address is for counting failed authentications: an IPv4 address itself (an IPv4
 * address mapped into IPv6 too), an IPv6 address by its /64 network, which one client usually holds
 * whole.
 */
export function addressGroup(ip: string): string {
  const address = ip.replace(/%.*$/, '').toLowerCase();
  if (!address.includes(':')) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = address.split('::');
  const front = head === '' ? [] : head.split(':');
  const back = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? front : [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** The most client addresses whose failures are remembered; the least recently seen are forgotten first. */
const MAX_ADDRESSES = 100_000;

/**
 * Failed authentications per client address: `perMinute` on average, as many at once. Once an
 * address has used them up, its requests with keys this process does not know as valid are
 * answered 429 before any key lookup, until the bucket refills.
 */
export class AuthFailureLimiter {
  private readonly buckets: TokenBuckets;

  constructor(perMinute: number) {
    this.buckets = new TokenBuckets(perMinute / 60, perMinute, MAX_ADDRESSES);
  }

  /** Seconds until the address may fail again; null when it may now. */
  blocked(ip: string, now = Date.now()): number | null {
    return this.buckets.empty(addressGroup(ip), now);
  }

  failed(ip: string, now = Date.now()): void {
    this.buckets.spend(addressGroup(ip), now);
  }
}

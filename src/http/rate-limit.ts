import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';

interface Bucket {
  tokens: number;
  updated: number;
}

/**
 * A token bucket per API key: `perSecond` requests a second on average, up to `burst` at once.
 * The buckets live in this process, so N processes allow N times the rate in total.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** Takes one token for the key, or says how many seconds until one is there. */
  take(keyId: string, now = Date.now()): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const bucket = this.buckets.get(keyId) ?? { tokens: this.burst, updated: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updated) / 1000) * this.perSecond);
    bucket.updated = now;
    this.buckets.set(keyId, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond)) };
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

import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { headerCount } from './raw-headers.js';
import type { KeyCache } from './key-cache.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The app the request's API key belongs to; set by the authentication hook. */
    appId: string;
    apiKeyId: string;
  }
}

const NOT_PROVIDED = 'Authentication credentials were not provided.';

/** The secret of an `Authorization: Api-Key <secret>` header (scheme case-insensitive), if well formed. */
export function readApiKey(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^api-key +(\S+)$/i.exec(header.trim());
  return match?.[1] ?? null;
}

/** An onRequest hook: every API route needs a valid key, and the key decides the app. */
export function authenticate(keys: KeyCache) {
  return async (request: FastifyRequest): Promise<void> => {
    // Node keeps only the first of two Authorization headers; two keys are no credentials at all.
    const secret = headerCount(request.raw.rawHeaders, 'authorization') > 1 ? null : readApiKey(request.headers.authorization);
    if (secret === null) throw ApiError.general('not_authenticated', NOT_PROVIDED);
    const owner = await keys.owner(secret);
    if (owner === null) throw ApiError.general('unauthorized', 'Invalid API key');
    request.appId = owner.appId;
    request.apiKeyId = owner.keyId;
  };
}

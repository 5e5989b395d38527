import type { FastifyRequest } from 'fastify';
import type { WriteActor } from '../domain/identifier-writes.js';

/** Names, comma-separated, the keys whose placeholder values a write left out. */
export const DROPPED_HEADER = 'crosswalk-dropped-identifiers';

/** Who is writing, for the identifier history: the request's API key and request id. */
export function actorOf(request: FastifyRequest, source: WriteActor['source']): WriteActor {
  return { source, apiKeyId: request.apiKeyId || null, requestId: request.id };
}

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';
export const RESPONSE_ID_HEADER = 'request-id';

const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id of a request: the caller's `x-request-id` when it is a sensible token (so ids from a
 * gateway carry through), else 32 new hex characters.
 */
export function requestId(raw: IncomingMessage): string {
  const given = raw.headers[REQUEST_ID_HEADER];
  // randomUUID draws from a cached pool of random bytes: far cheaper per call than randomBytes.
  return typeof given === 'string' && ACCEPTABLE.test(given) ? given : randomUUID().replaceAll('-', '');
}

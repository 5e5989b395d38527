import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, FieldErrors } from '../errors.js';
import { charLength, isUuid } from '../domain/formats.js';
import { PLATFORMS } from '../domain/profile-request.js';
import { MAX_CUSTOMER_USER_ID_LENGTH, type ProfileAddress } from '../domain/profile.js';
import { headerCount } from './raw-headers.js';

export const PROFILE_ID_HEADER = 'adapty-profile-id';
export const CUSTOMER_USER_ID_HEADER = 'adapty-customer-user-id';
export const PLATFORM_HEADER = 'adapty-platform';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * One header's value, or undefined when absent or empty. Node reads header bytes as Latin-1;
 * clients send UTF-8, so non-ASCII values are decoded again. A header sent twice is an error
 * rather than the two values joined with a comma.
 */
function header(request: FastifyRequest, name: string, errors: FieldErrors): string | undefined {
  const value = request.headers[name];
  if (value === undefined || value === '') return undefined;
  if (headerCount(request.raw.rawHeaders, name) > 1 || typeof value !== 'string') {
    errors.add(name, 'This header must be sent only once.');
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(value)) return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    // Bytes that are not UTF-8 would otherwise turn into U+FFFD and make distinct ids one.
    errors.add(name, 'This header must be UTF-8 text.');
    return undefined;
  }
}

/** The profile named by the request's headers; at least one of the two must be given. */
export function readAddress(request: FastifyRequest): ProfileAddress {
  const errors = new FieldErrors();
  const profileId = header(request, PROFILE_ID_HEADER, errors);
  const customerUserId = header(request, CUSTOMER_USER_ID_HEADER, errors);
  if (profileId !== undefined && !isUuid(profileId)) errors.add(PROFILE_ID_HEADER, 'Must be a valid UUID.');
  if (customerUserId !== undefined && charLength(customerUserId) > MAX_CUSTOMER_USER_ID_LENGTH) {
    errors.add(CUSTOMER_USER_ID_HEADER, `Ensure this header has no more than ${MAX_CUSTOMER_USER_ID_LENGTH} characters.`);
  }
  errors.throwIfAny();
  if (profileId === undefined && customerUserId === undefined) {
    throw ApiError.general(
      'validation_error',
      `Provide the ${CUSTOMER_USER_ID_HEADER} header, the ${PROFILE_ID_HEADER} header, or both.`,
    );
  }
  const address: ProfileAddress = {};
  if (profileId !== undefined) address.profileId = profileId.toLowerCase();
  if (customerUserId !== undefined) address.customerUserId = customerUserId;
  return address;
}

/** The optional `adapty-platform` header, in its canonical spelling. */
export function readPlatform(request: FastifyRequest): string | undefined {
  const errors = new FieldErrors();
  const value = header(request, PLATFORM_HEADER, errors);
  errors.throwIfAny();
  if (value === undefined) return undefined;
  const platform = PLATFORMS.find((p) => p.toLowerCase() === value.toLowerCase());
  if (!platform) throw new ApiError('validation_error', [{ source: PLATFORM_HEADER, errors: [`Must be one of: ${PLATFORMS.join(', ')}.`] }]);
  return platform;
}

/** What the profile headers of one request say, once read by the `profileHeaders` hook. */
export interface ProfileHeaders {
  address: ProfileAddress;
  /** The `adapty-platform` header, on the routes that read it. */
  platform?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `profileHeaders` hook of the profile-addressed routes (decorated in app.ts). */
    profileHeaders: ProfileHeaders | null;
  }
}

/**
 * The preValidation hook of the profile-addressed routes: the headers are read (and refused) before
 * Fastify validates the body or query, so that header problems are reported first. A callback
 * hook, not an async one: this runs on every request of the hot paths.
 */
export function profileHeaders({ platform = false } = {}) {
  return (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void => {
    try {
      const headers: ProfileHeaders = { address: readAddress(request) };
      if (platform) {
        const value = readPlatform(request);
        if (value !== undefined) headers.platform = value;
      }
      request.profileHeaders = headers;
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  };
}

/** The headers the route's `profileHeaders` hook read. */
export function profileHeadersOf(request: FastifyRequest): ProfileHeaders {
  const headers = request.profileHeaders;
  if (!headers) throw new Error(`${request.routeOptions.url ?? request.url} has no profileHeaders hook`);
  return headers;
}

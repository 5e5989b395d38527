import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { ApiError } from '../errors.js';

export const BODY_LIMIT_BYTES = 64 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function charsetOf(request: FastifyRequest): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(request.headers['content-type'] ?? '');
  return match?.[1]?.toLowerCase();
}

/**
 * The only body parser: JSON in UTF-8. An empty body is "no body" (clients send
 * `Content-Type: application/json` with nothing on GET and DELETE); bad UTF-8 or bad JSON is a
 * parse error; any other media type is refused by Fastify with a 415.
 */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  const options = { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES } as const;
  const parse = (request: FastifyRequest, body: Buffer, done: (error: Error | null, body?: unknown) => void) => {
    const charset = charsetOf(request);
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(ApiError.general('unsupported_media_type', `Unsupported charset "${charset}": send JSON in UTF-8.`));
      return;
    }
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      done(new ApiError('parse_error', [{ source: null, errors: ['JSON parse error - body is not valid UTF-8'] }]));
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      const detail = error instanceof Error ? error.message : 'invalid JSON';
      done(new ApiError('parse_error', [{ source: null, errors: [`JSON parse error - ${detail}`] }]));
    }
  };
  app.addContentTypeParser('application/json', options, parse);
  app.addContentTypeParser(/^application\/[\w.-]+\+json$/, options, parse);
}

/**
 * A preValidation hook of the Adapty-compatible writes, where an empty body means `{}`: a create
 * with no fields, an update that changes nothing, "at least one identifier" for identifiers. So
 * does `[]`, which is what PHP's `json_encode` makes of an empty array; `[1]` stays an array, and
 * the schema refuses it. (Elsewhere an empty body is not a JSON object, and the route's schema
 * says so.) A route with this hook has an optional body, and the OpenAPI document says so
 * (`hasOptionalBody`, read by docs.ts).
 */
export function emptyBodyIsEmptyObject(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  const body: unknown = request.body;
  if (body === undefined || (Array.isArray(body) && body.length === 0)) request.body = {};
  done();
}

/** Whether a route takes its body as optional: its preValidation hooks include emptyBodyIsEmptyObject. */
export function hasOptionalBody(route: Pick<RouteOptions, 'preValidation'>): boolean {
  const hooks: unknown = route.preValidation;
  return Array.isArray(hooks) ? hooks.includes(emptyBodyIsEmptyObject) : hooks === emptyBodyIsEmptyObject;
}

/**
 * The same reading of an empty body (or `[]`) as `{}`, on routes whose body is required: the
 * schema then names each required field, rather than answering that the body is not an object.
 * The OpenAPI document keeps these bodies required.
 */
export function emptyBodyIsCheckedAsObject(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  emptyBodyIsEmptyObject(request, reply, done);
}

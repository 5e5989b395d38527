import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, domainErrorToApiError } from '../errors.js';
import { BODY_LIMIT_BYTES } from './json-body.js';
import { RESPONSE_ID_HEADER } from './request-id.js';

/**
 * Maps anything thrown while handling a request to the one wire envelope. Schema validation
 * failures arrive already as ApiError: the validator (validation.ts) words them per field.
 */
export function toApiError(error: unknown, bodyLimit = BODY_LIMIT_BYTES): ApiError {
  const known = domainErrorToApiError(error);
  if (known) return known;
  const fastifyError = error as Partial<FastifyError>;
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return ApiError.general('unsupported_media_type', 'Unsupported media type: send the body as application/json.');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return ApiError.general('payload_too_large', `The request body must not be larger than ${bodyLimit} bytes.`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('parse_error', [
        { source: null, errors: ['JSON parse error - the body does not match its Content-Length'] },
      ]);
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return ApiError.general('validation_error', 'The request is malformed.');
  }
  return ApiError.general('internal_error', 'An unexpected error occurred. It has been logged.');
}

/**
 * One error handler for the whole app, and the 404/405 answers for paths and methods that have no
 * route. Methods per path are learned from the routes as they are added.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  const methodsByPath = new Map<string, Set<string>>();
  const normalise = (url: string) => url.split('?')[0]!.replace(/\/+$/, '') || '/';

  app.addHook('onRoute', (route) => {
    const path = normalise(route.url ?? route.path);
    const methods = methodsByPath.get(path) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    methodsByPath.set(path, methods);
  });

  app.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error, request.routeOptions.bodyLimit);
    if (apiError.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    void reply.code(apiError.statusCode).headers(apiError.headers).send(apiError.toBody());
  });

  app.setNotFoundHandler((request, reply) => {
    const methods = methodsByPath.get(normalise(request.url));
    const error = methods
      ? ApiError.general('method_not_allowed', `Method "${request.method}" is not allowed on this path.`)
      : ApiError.general('not_found', 'There is no such endpoint.');
    if (methods) void reply.header('allow', [...methods].sort().join(', '));
    void reply.code(error.statusCode).send(error.toBody());
  });
}

/** Errors Fastify raises before routing (a URL that cannot be decoded) get the same envelope. */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void reply.header(RESPONSE_ID_HEADER, request.id);
  const apiError =
    error.code === 'FST_ERR_BAD_URL' ? ApiError.general('validation_error', 'The URL is malformed.') : toApiError(error);
  void reply.code(apiError.statusCode).send(apiError.toBody());
}

import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { compile } from '../schemas/validate.js';

/**
 * Fastify's validator for every route (set in app.ts): each route's TypeBox schema is compiled by
 * src/schemas/validate.ts, and a request that fails it is answered 400 `validation_error` in the
 * contract's envelope (the ApiError goes to the one error handler as it is).
 *
 * - Bodies are never coerced: JSON already has types, and `"3"` is not a number.
 * - Querystrings and path parameters are text on the wire, so they are coerced to the schema's
 *   types when written plainly (`limit=5` is the integer 5; `limit=1e2` is refused). A query
 *   parameter given twice is refused, not coerced.
 * - Headers are not checked here. The profile headers are read by hand from the raw request
 *   (readAddress in addressing.ts: a header sent twice, UTF-8 sent as Latin-1, the length in
 *   characters after decoding, a platform matched without regard to case), which no schema can
 *   say, in a preValidation hook, so that their problems come before the body's as they always
 *   have (Fastify would check headers last). Their schemas stay for the OpenAPI document.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  if (httpPart === 'headers') return () => true;
  return compile(schema, { coerce: httpPart !== 'body' });
};

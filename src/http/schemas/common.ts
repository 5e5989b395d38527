import { type TSchema, Type } from 'typebox';
import { PLATFORMS } from '../../domain/profile-request.js';
import { MAX_CUSTOMER_USER_ID_LENGTH } from '../../domain/profile.js';
import { nullable } from '../../schemas/kit.js';
import { CUSTOMER_USER_ID_HEADER, PLATFORM_HEADER, PROFILE_ID_HEADER } from '../addressing.js';

/** Schemas every resource uses: the error envelope, the profile headers, the `data` wrapper. */

export const nullableString = nullable(Type.String());

export const errorResponse = Type.Object(
  {
    errors: Type.Array(
      Type.Object({
        source: nullable(Type.String({ description: 'field, header, query parameter, non_field_errors, or null' })),
        errors: Type.Array(Type.String()),
      }),
    ),
    error_code: Type.String(),
    status_code: Type.Integer(),
  },
  { description: 'The one error envelope' },
);

/** The error answers of an authenticated operation: 400, 401, the given statuses, 413, 415 and 429. */
export const errorResponses = (...statuses: number[]): Record<number, typeof errorResponse> =>
  Object.fromEntries([400, 401, ...statuses, 413, 415, 429].map((status) => [status, errorResponse]));

/**
 * The profile headers, for the OpenAPI document and the handlers' types. They are read by hand in a
 * preValidation hook (readAddress, see src/http/validation.ts for why a schema cannot check them).
 */
export const addressHeaders = (withPlatform = false) =>
  Type.Object({
    [CUSTOMER_USER_ID_HEADER]: Type.Optional(
      Type.String({ maxLength: MAX_CUSTOMER_USER_ID_LENGTH, description: 'Your own user id (this or the profile id, or both)' }),
    ),
    [PROFILE_ID_HEADER]: Type.Optional(Type.String({ format: 'uuid', description: "The profile's UUID (this or the customer user id, or both)" })),
    ...(withPlatform
      ? { [PLATFORM_HEADER]: Type.Optional(Type.String({ enum: [...PLATFORMS], description: 'Fills installation_meta.platform when it is left out' })) }
      : {}),
  });

/**
 * An answer without a body (`reply.send()` with nothing): `type: null` is how OpenAPI says so, and
 * the handler's type lets it send nothing.
 */
export const noBody = (description: string) => Type.Unsafe<void>(Type.Null({ description }));

/** `{ data: schema }`, the wrapper of the Crosswalk answers. */
export const data = <T extends TSchema>(schema: T) => Type.Object({ data: schema });
